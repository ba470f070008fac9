# Diameter routing (DESIGN §3 "Diameter routing"): mihua-as behind freeDiameterd as a relay, and failover between
# two mihua-hss instances.
mihua_integration_test(diam_relay diam_relay.sh)
mihua_integration_test(diam_failover diam_failover.sh)
mihua_integration_test(diam_hostile diam_hostile.sh)
mihua_integration_test(hss_push hss_push.sh)
