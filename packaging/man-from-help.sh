#!/usr/bin/env bash
# Writes a man page (roff, section 1) for a mihua program from its own --help and --version, so the manual can
# never say something the program does not: NAME from the first sentence of --help (or the given summary), the
# whole --help text as DESCRIPTION (verbatim, .nf), and for mihua-probe each subcommand's --help too.
# Usage: man-from-help.sh PROGRAM_PATH OUT.1
set -euo pipefail
prog=$1
out=$2
name=$(basename "$prog")
# No early exit in the pipelines (head, awk's exit): the writer would die of SIGPIPE and pipefail would fail the
# build whenever the text outgrows one write.
version=$("$prog" --version 2>/dev/null | awk 'NR == 1 {print $NF}')
help=$("$prog" --help 2>&1 || true)
# the first paragraph after the usage lines, joined, up to its first full stop
summary=$(printf '%s\n' "$help" | grep -v '^Usage' | grep -v '^ ' | awk 'done { next } NF == 0 { if (p) done = 1; next }
    { p = p " " $0 } END { print p }' | sed -E 's/^ //; s/\. .*//; s/\.$//')
[ "${#summary}" -le 100 ] || summary=${summary%%: *} # a NAME line is one line: a long summary to its first colon
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
{
    echo ".TH $(echo "$name" | tr a-z A-Z) 1 \"\" \"mihua $version\" \"mihua manual\""
    echo ".SH NAME"
    echo "$name \\- $(printf '%s' "$summary" | esc)"
    echo ".SH DESCRIPTION"
    echo ".nf"
    printf '%s\n' "$help" | esc
    echo ".fi"
    if [ "$name" = mihua-probe ]; then
        for sub in sh udm kms suite; do
            echo ".SH \"$name $sub\""
            echo ".nf"
            "$prog" "$sub" --help 2>&1 | esc || true
            echo ".fi"
        done
    fi
    echo ".SH SEE ALSO"
    echo "The README of mihua, and DESIGN \\(sc8 for the programs' contract."
} >"$out"
