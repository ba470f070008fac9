#!/usr/bin/env python3
"""Derives the S-box constants of msrtp_sm4_x86.c and checks them; prints them as C.

The SM4 S-box (read from msrtp_sm4.c) is S(x) = A.I(A.x ^ 0xd3) ^ 0xd3, I the inversion mod the SM4 field polynomial
0x1f5 and A the circulant matrix of row 0xd3 (checked here). phi maps the SM4 field onto the AES field (mod 0x11b) by
x -> beta, a root of 0x1f5 in the AES field, so I = phi^-1 . J . phi with J the AES-field inversion. Then
  AESNI: S(x) = Q(AES_S(P(x))), P(x) = phi(A.x ^ 0xd3), Q(y) = A.phi^-1(M^-1.(y ^ 0x63)) ^ 0xd3 (nibble tables);
  GFNI:  S(x) = (A.phi^-1).J((phi.A).x ^ phi(0xd3)) ^ 0xd3 (GF2P8AFFINEQB / GF2P8AFFINEINVQB matrices).
Every constant is checked against S on all 256 inputs, the GFNI ones through a model of the instructions.
Usage: python3 lib/srtp/sm4_x86_consts.py (no arguments; exit status 1 if a check fails).
"""
import os
import re
import sys

AES_POLY, SM4_POLY, C = 0x11B, 0x1F5, 0xD3


def gmul(a, b, poly):
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= poly
    return r


def gpow(a, n, poly):
    r = 1
    for _ in range(n):
        r = gmul(r, a, poly)
    return r


def ginv(a, poly):
    return 0 if a == 0 else next(b for b in range(1, 256) if gmul(a, b, poly) == 1)


def parity(x):
    return bin(x).count("1") & 1


def sm4_sbox():
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "msrtp_sm4.c")).read()
    body = src[src.index("sm4_sbox[MSRTP_SM4_SBOX_SIZE] = {"):]
    body = body[: body.index("};")]
    s = [int(v, 16) for v in re.findall(r"0x[0-9a-f]{2}", body)]
    assert len(s) == 256
    return s


def a_map(x):  # output bit 7-i = parity(row 0xd3 rotated right by i & x)
    y = 0
    for i in range(8):
        row = ((C >> i) | (C << (8 - i))) & 0xFF
        y |= parity(row & x) << (7 - i)
    return y


def aes_affine(b):  # AES S-box affine map M.b ^ 0x63
    y = 0
    for i in range(8):
        bit = (b >> i ^ b >> ((i + 4) % 8) ^ b >> ((i + 5) % 8) ^ b >> ((i + 6) % 8) ^ b >> ((i + 7) % 8) ^ 0x63 >> i)
        y |= (bit & 1) << i
    return y


def gfni_matrix(f):  # linear f as the instructions' qword: byte 7-i holds the row of output bit i
    q = 0
    for i in range(8):
        row = sum(1 << j for j in range(8) if f(1 << j) >> i & 1)
        q |= row << (8 * (7 - i))
    return q


def gfni_affine(q, x, b):
    return sum((parity((q >> (8 * (7 - i))) & 0xFF & x) ^ (b >> i & 1)) << i for i in range(8))


def main():
    s = sm4_sbox()
    inv_sm4 = [ginv(a, SM4_POLY) for a in range(256)]
    assert all(a_map(inv_sm4[a_map(x) ^ C]) ^ C == s[x] for x in range(256)), "S-box structure"
    aes_s = [aes_affine(ginv(x, AES_POLY)) for x in range(256)]
    assert aes_s[0] == 0x63 and aes_s[1] == 0x7C, "AES S-box"

    def sm4_poly_at(b):
        r = 0
        for e in (8, 7, 6, 5, 4, 2, 0):
            r ^= gpow(b, e, AES_POLY)
        return r

    beta = min(b for b in range(2, 256) if sm4_poly_at(b) == 0)

    def phi(u):
        r = 0
        for i in range(8):
            if u >> i & 1:
                r ^= gpow(beta, i, AES_POLY)
        return r

    phi_inv = {phi(u): u for u in range(256)}
    assert all(phi(inv_sm4[u]) == ginv(phi(u), AES_POLY) for u in range(256)), "phi carries inversion"
    m_inv = {aes_affine(b) ^ 0x63: b for b in range(256)}

    pre = [phi(a_map(x) ^ C) for x in range(256)]
    post = [a_map(phi_inv[m_inv[y ^ 0x63]]) ^ C for y in range(256)]
    assert all(post[aes_s[pre[x]]] == s[x] for x in range(256)), "AESNI: Q(AES_S(P(x)))"

    def nibbles(f):
        lo = [f[n] for n in range(16)]
        hi = [f[n << 4] ^ f[0] for n in range(16)]
        assert all(f[x] == lo[x & 15] ^ hi[x >> 4] for x in range(256)), "affine"
        return lo, hi

    q1 = gfni_matrix(lambda x: phi(a_map(x)))
    c1 = phi(C)
    q2 = gfni_matrix(lambda y: a_map(phi_inv[y]))
    assert all(gfni_affine(q2, ginv(gfni_affine(q1, x, c1), AES_POLY), C) == s[x] for x in range(256)), "GFNI"

    print("/* beta = 0x%02x */" % beta)
    for name, f in (("PRE", pre), ("POST", post)):
        lo, hi = nibbles(f)
        print("#define %s_LO %s" % (name, ", ".join("0x%02x" % v for v in lo)))
        print("#define %s_HI %s" % (name, ", ".join("0x%02x" % v for v in hi)))
    print("#define GFNI_PRE_MATRIX 0x%016xll" % q1)
    print("#define GFNI_PRE_CONST 0x%02x" % c1)
    print("#define GFNI_POST_MATRIX 0x%016xll" % q2)
    print("#define GFNI_POST_CONST 0x%02x" % C)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("check failed: %s" % e, file=sys.stderr)
        sys.exit(1)
