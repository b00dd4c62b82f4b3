/*
 * Hullscan bundled YARA rules. Licence: Apache-2.0, (c) the Hullscan authors.
 * Linux cryptominers, chiefly XMRig and its forks (the miner most often dropped on compromised
 * Kubernetes nodes). Strings come from XMRig's own source: its config keys (src/config.json) and
 * command-line help (src/base/kernel/config/Title / Usage).
 */
rule Linux_CoinMiner_XMRig
{
    meta:
        author = "Hullscan authors"
        description = "XMRig Monero miner binary or build"
        severity = "high"
        reference = "https://github.com/xmrig/xmrig"
        license = "Apache-2.0"
    strings:
        $name1 = "xmrig" ascii nocase
        $name2 = "XMRig/" ascii
        $opt1 = "--donate-level" ascii
        $opt2 = "donate-over-proxy" ascii
        $cfg1 = "\"randomx\"" ascii
        $cfg2 = "\"donate-level\"" ascii
        $algo1 = "rx/arq" ascii
        $algo2 = "cryptonight" ascii nocase
        $pool = "stratum+tcp://" ascii
    condition:
        filesize < 64MB and ($name1 or $name2) and 2 of ($opt*, $cfg*, $algo*, $pool)
}

rule Linux_CoinMiner_Config
{
    meta:
        author = "Hullscan authors"
        description = "Cryptominer configuration: a stratum pool URL with miner config keys"
        severity = "high"
        reference = "https://xmrig.com/docs/miner/config"
        license = "Apache-2.0"
    strings:
        $pool1 = "stratum+tcp://" ascii
        $pool2 = "stratum+ssl://" ascii
        $pool3 = "stratum2+tcp://" ascii
        $key1 = "\"donate-level\"" ascii
        $key2 = "\"randomx\"" ascii
        $key3 = "\"nicehash\"" ascii
        $key4 = "\"rig-id\"" ascii
        $key5 = "\"max-threads-hint\"" ascii
    condition:
        filesize < 4MB and any of ($pool*) and 2 of ($key*)
}
