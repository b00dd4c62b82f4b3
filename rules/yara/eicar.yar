/*
 * Hullscan bundled YARA rules. Licence: Apache-2.0, (c) the Hullscan authors.
 * The EICAR anti-virus test file, by the SHA-256 of its 68-byte standard string at offset 0 in a
 * file of at most 128 bytes (the EICAR definition allows trailing whitespace). No string
 * patterns: the rule costs nothing on larger files, and this rule file does not carry the test
 * string (which repository scanners flag).
 */
import "hash"

rule EICAR_Test_File
{
    meta:
        author = "Hullscan authors"
        description = "EICAR anti-virus test file (harmless test string)"
        severity = "high"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        license = "Apache-2.0"
    condition:
        filesize >= 68 and filesize <= 128 and
        hash.sha256(0, 68) == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
}
