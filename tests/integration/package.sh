#!/usr/bin/env bash
# The Debian package for operators: `cpack -G DEB` on this build tree, unpacked into a scratch root with
# dpkg-deb. Its contents (programs, man pages that man(1) renders, conffiles in /etc/mihua, one systemd unit per
# daemon that systemd-analyze accepts, the postinst that creates the mihua user, shared-library dependencies),
# then mihua-hss started from the unpacked tree with the shipped config and asked a UDR by the unpacked probe.
. "$(dirname "$0")/lib.sh"

BUILD=$(cd "$MIHUA_BIN/.." && pwd)
ROOT=$T_DIR/root
(cd "$BUILD" && cpack -G DEB -B "$T_DIR/pkg") >"$T_DIR/cpack.log" 2>&1 || { cat "$T_DIR/cpack.log"; exit 1; }
DEB=$(ls "$T_DIR"/pkg/mihua_*_amd64.deb)
check "cpack built one .deb" [ -s "$DEB" ]
dpkg-deb -x "$DEB" "$ROOT"
dpkg-deb -e "$DEB" "$T_DIR/control"

for p in mihua-hss mihua-udm mihua-kms mihua-as mihua-ue mihua-probe mihua-subscribers; do
    check "$p: in /usr/bin, runs (--version) and has a man page that man renders with its NAME" all \
        "[ -x '$ROOT/usr/bin/$p' ]" "'$ROOT/usr/bin/$p' --version | grep -q '^$p '" \
        "MANWIDTH=200 man -l '$ROOT/usr/share/man/man1/$p.1.gz' 2>/dev/null | grep -q '^ *$p - '"
done
check "the probe's man page carries each subcommand's --help" \
    [ "$(zcat "$ROOT/usr/share/man/man1/mihua-probe.1.gz" | grep -c '^\.SH "mihua-probe ')" = 4 ]
for d in hss udm kms as; do
    u=$ROOT/lib/systemd/system/mihua-$d.service
    check "mihua-$d.service: simple, restarts on failure, runs as mihua with the shipped config" all \
        "grep -qx 'Type=simple' '$u'" "grep -qx 'Restart=on-failure' '$u'" "grep -qx 'User=mihua' '$u'" \
        "grep -qx 'ExecStart=/usr/bin/mihua-$d -c /etc/mihua/$d.json' '$u'" "[ -s '$ROOT/etc/mihua/$d.json' ]"
    sed "s#/usr/bin/#$ROOT/usr/bin/#" "$u" >"$T_DIR/mihua-$d.service"
    check "mihua-$d.service: systemd-analyze verify has nothing to say" \
        [ -z "$(systemd-analyze verify --man=no "$T_DIR/mihua-$d.service" 2>&1)" ]
done
check "conffiles: the five files of /etc/mihua" [ "$(sort "$T_DIR/control/conffiles" | tr '\n' ' ')" = \
    "/etc/mihua/as.json /etc/mihua/hss.json /etc/mihua/kms.json /etc/mihua/subscribers.json /etc/mihua/udm.json " ]
check "subscriber file (it holds KMS keys) not world-readable" [ "$(stat -c %a "$ROOT/etc/mihua/subscribers.json")" = 640 ]
check "postinst creates the mihua system user" grep -q 'adduser --system --group' "$T_DIR/control/postinst"
check "Depends: freeDiameter's extensions and the shared libraries found by dpkg-shlibdeps" \
    all "dpkg-deb -f '$DEB' Depends | grep -q freediameter-extensions" "dpkg-deb -f '$DEB' Depends | grep -q libfdcore6"
check "state goes to /var/lib/mihua (the units' StateDirectory), not /etc" \
    grep -q '"store": "/var/lib/mihua/subscribers.db"' "$ROOT/etc/mihua/hss.json"

# The unpacked daemon with the shipped config; only the paths that point into the real /etc and /var move.
PORT=$(free_port)
start_daemon hss "$ROOT/usr/bin/mihua-hss" -c "$ROOT/etc/mihua/hss.json" --subscribers "$ROOT/etc/mihua/subscribers.json" \
    --store "$T_DIR/subscribers.db" --port "$PORT" --admin-listen 127.0.0.1:0
check "unpacked mihua-hss: READY with the shipped identity" grep -q "^READY mihua-hss diameter=hss.ims.test@" "$T_DIR/hss.out"
rc=0
"$ROOT/usr/bin/mihua-probe" sh --hss "127.0.0.1:$PORT" --impu tel:+15550000001 --data-ref tads --json \
    >"$T_DIR/udr.json" 2>"$T_DIR/udr.err" || rc=$?
check "unpacked probe gets 2001 from it" [ "$rc $(jget "$T_DIR/udr.json" "j['resultCode']['code']")" = "0 2001" ]
finish
