/*
 * Hullscan bundled YARA rules. Licence: Apache-2.0, (c) the Hullscan authors.
 * Common webshells: PHP code evaluating decoded request data, and the China Chopper one-liners
 * (PHP and ASP.NET) documented by FireEye / Mandiant.
 */
rule Webshell_PHP_Eval_Encoded
{
    meta:
        author = "Hullscan authors"
        description = "PHP evaluating base64 / gzip / rot13-decoded code (typical obfuscated webshell)"
        severity = "high"
        reference = "https://www.php.net/manual/en/function.eval.php"
        license = "Apache-2.0"
    strings:
        $php = "<?php" ascii nocase
        $eval = /(eval|assert)\s*\(\s*(base64_decode|gzinflate|gzuncompress|str_rot13)\s*\(/ ascii nocase
    condition:
        filesize < 2MB and $php and $eval
}

rule Webshell_PHP_Eval_Request
{
    meta:
        author = "Hullscan authors"
        description = "PHP evaluating request parameters directly (China Chopper style one-liner)"
        severity = "high"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
        license = "Apache-2.0"
    strings:
        $php = "<?php" ascii nocase
        $eval = /@?(eval|assert|system|passthru|shell_exec)\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)\s*\[/ ascii nocase
    condition:
        filesize < 2MB and $php and $eval
}

rule Webshell_ASPX_China_Chopper
{
    meta:
        author = "Hullscan authors"
        description = "China Chopper ASP.NET one-liner"
        severity = "high"
        reference = "https://www.mandiant.com/resources/blog/breaking-down-the-china-chopper-web-shell-part-i"
        license = "Apache-2.0"
    strings:
        $page = /<%@\s*Page\s+Language\s*=\s*"?Jscript"?/ ascii nocase
        $eval = /eval\s*\(\s*Request\.Item\s*\[/ ascii nocase
    condition:
        filesize < 1MB and $page and $eval
}
