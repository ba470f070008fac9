# mihua-as integration test: sipp UEs through the real AS with mihua-hss and mihua-udm.
mihua_integration_test(as_sipp as_sipp.sh)
# mihua-as under overload: admission (503 + Retry-After), Timer C, idle call records; sipp with small tables.
mihua_integration_test(as_overload as_overload.sh)
# SIP Digest at mihua-as: the registration and impersonation attacks over raw UDP, then a legit encrypted call.
mihua_integration_test(sip_auth sip_auth.sh)
