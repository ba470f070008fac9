# lib/sbi — HTTP/2 SBI server and client (nghttp2 + libevent, OpenSSL for TLS directly on the sockets: sbi_io).
# Included from lib/CMakeLists.txt, so paths are relative to lib/.
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
pkg_check_modules(LIBSSL REQUIRED IMPORTED_TARGET libssl)

add_library(mihua_sbi STATIC
  sbi/sbi_buf.c sbi/sbi_io.c sbi/sbi_problem.c sbi/sbi_router.c sbi/sbi_url.c sbi/sbi_tls.c sbi/sbi_session.c
  sbi/sbi_arena.c sbi/sbi_server.c sbi/sbi_server_stream.c sbi/sbi_server_answer.c sbi/sbi_server_conn.c
  sbi/sbi_server_parse.c sbi/sbi_server_req.c sbi/sbi_client.c sbi/sbi_flat_json.c sbi/sbi_bearer.c
  sbi/sbi_auth.c)
target_include_directories(mihua_sbi PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mihua_sbi PUBLIC mihua_core PkgConfig::LIBEVENT PkgConfig::NGHTTP2 PkgConfig::LIBSSL
  PkgConfig::OPENSSL PkgConfig::JANSSON)
