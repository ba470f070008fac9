# mihua-kms integration test: real KMS over TLS against a stand-in AS, the C client and curl.
mihua_integration_test(kms kms.sh)
