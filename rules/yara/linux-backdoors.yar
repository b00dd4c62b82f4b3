/*
 * Hullscan bundled YARA rules. Licence: Apache-2.0, (c) the Hullscan authors.
 * Known Linux backdoors and botnets seen on cloud and Kubernetes hosts. Each rule needs strings
 * specific to the family (not generic Linux paths), so a clean distribution never matches.
 */
rule Linux_Trojan_XorDDoS
{
    meta:
        author = "Hullscan authors"
        description = "XorDDoS bot: its XOR key, or its cron persistence script with its pid file"
        severity = "high"
        reference = "https://www.microsoft.com/en-us/security/blog/2022/05/19/rise-in-xorddos-a-deeper-look-at-the-stealthy-ddos-malware-targeting-linux-devices/"
        license = "Apache-2.0"
    strings:
        $key = "BB2FA36AAA9541F0" ascii
        $cron = "/etc/cron.hourly/gcc.sh" ascii
        $pid = "/var/run/gcc.pid" ascii
        $lib = "/lib/libudev.so" ascii
    condition:
        filesize < 16MB and ($key or ($cron and ($pid or $lib)))
}

rule Linux_Trojan_Mirai
{
    meta:
        author = "Hullscan authors"
        description = "Mirai bot: its busybox applet probe strings"
        severity = "high"
        reference = "https://github.com/jgamblin/Mirai-Source-Code"
        license = "Apache-2.0"
    strings:
        $probe1 = "/bin/busybox MIRAI" ascii
        $probe2 = "MIRAI: applet not found" ascii
        $scan1 = "TSource Engine Query" ascii
        $scan2 = "/dev/misc/watchdog" ascii
        $scan3 = "LCOGQGPTGP" ascii
    condition:
        filesize < 16MB and (any of ($probe*) or all of ($scan*))
}

rule Linux_Trojan_Kinsing
{
    meta:
        author = "Hullscan authors"
        description = "Kinsing malware and its kdevtmpfsi miner"
        severity = "high"
        reference = "https://www.aquasec.com/blog/threat-alert-kinsing-malware-container-vulnerability/"
        license = "Apache-2.0"
    strings:
        $miner = "kdevtmpfsi" ascii
        $path1 = "/tmp/kinsing" ascii
        $path2 = "/etc/kinsing" ascii
        $go1 = "main.minerRunningCheck" ascii
        $go2 = "main.masscan" ascii
    condition:
        filesize < 64MB and ($miner or any of ($path*) or all of ($go*))
}

rule Linux_TeamTNT_Indicators
{
    meta:
        author = "Hullscan authors"
        description = "TeamTNT cloud-worm scripts and tools (its name, domains and process-hiding setup)"
        severity = "high"
        reference = "https://unit42.paloaltonetworks.com/teamtnt-operations-cloud-environments/"
        license = "Apache-2.0"
    strings:
        $name = "teamtnt" ascii nocase
        $domain1 = "teamtnt.red" ascii nocase
        $domain2 = "chimaera.cc" ascii nocase
        $hide1 = "libprocesshider" ascii
        $hide2 = "/etc/ld.so.preload" ascii
        $aws = "/.aws/credentials" ascii
    condition:
        filesize < 16MB and (any of ($domain*) or ($name and ($hide1 or $hide2 or $aws)))
}
