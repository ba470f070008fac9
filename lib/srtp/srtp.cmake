# lib/srtp — SRTP/SRTCP for the three DESIGN §2 suites (RFC 3711, RFC 7714). Included from lib/CMakeLists.txt,
# so paths are relative to lib/. Public names use the msrtp_ prefix: libsrtp2 (the interop oracle in the tests and
# the bench) owns srtp_*.
add_library(mihua_srtp STATIC
  srtp/msrtp.c srtp/msrtp_suite.c srtp/msrtp_kdf.c srtp/msrtp_window.c srtp/msrtp_mac.c srtp/msrtp_sm3.c
  srtp/msrtp_sm4.c srtp/msrtp_sm4_x86.c)
target_include_directories(mihua_srtp PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mihua_srtp PUBLIC mihua_core PkgConfig::OPENSSL)

# libsrtp2 is an oracle for tests and the benchmark only, never a dependency of mihua_srtp. GLOBAL so that
# tests/unit/srtp.cmake sees the target.
pkg_check_modules(LIBSRTP2 QUIET IMPORTED_TARGET GLOBAL libsrtp2)

# bench/srtp_bench.c: always built (it is small) when libsrtp2 is present; run it through bench/srtp.sh.
if(TARGET PkgConfig::LIBSRTP2)
  add_executable(mihua-bench-srtp ${PROJECT_SOURCE_DIR}/bench/srtp_bench.c)
  target_link_libraries(mihua-bench-srtp PRIVATE mihua_srtp PkgConfig::LIBSRTP2)
endif()

# bench/srtp_prim_bench.c: ns per call of SM4 (each implementation, and OpenSSL's) and of HMAC-SM3; needs no libsrtp2.
add_executable(mihua-bench-srtp-prim ${PROJECT_SOURCE_DIR}/bench/srtp_prim_bench.c)
target_link_libraries(mihua-bench-srtp-prim PRIVATE mihua_srtp)
