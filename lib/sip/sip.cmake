# lib/sip — SIP message parser, lump edits and reply builder; lib/sdp — SDP subset with a=crypto (DESIGN §2).
# Included from lib/CMakeLists.txt, so paths are relative to lib/.
add_library(mihua_sip STATIC
  sip/sip_str.c sip/sip_scan.c sip/sip_uri.c sip/sip_hdr.c sip/sip_parse.c sip/sip_lump.c sip/sip_reply.c
  sip/sip_voenc.c sip/sip_wr.c
  # Transaction layer (RFC 3261 §17, RFC 6026) and transports (§18, RFC 3581).
  sip/sip_timer.c sip/sip_txn.c sip/sip_txn_base.c sip/sip_txn_table.c sip/sip_txn_match.c sip/sip_txn_build.c
  sip/sip_txn_client.c sip/sip_txn_server.c sip/sip_transport_addr.c sip/sip_timer_event.c sip/sip_transport.c
  sip/sip_transport_udp.c sip/sip_transport_tcp.c)
target_include_directories(mihua_sip PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mihua_sip PUBLIC mihua_core PkgConfig::LIBEVENT)

add_library(mihua_sdp STATIC sdp/sdp.c)
target_include_directories(mihua_sdp PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mihua_sdp PUBLIC mihua_sip mihua_core)
