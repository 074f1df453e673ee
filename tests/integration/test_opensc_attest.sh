# SPDX-License-Identifier: Apache-2.0
# Keys that OpenSC generates on the card (pkcs11-tool through pcscd and vpcd) attest with
# schsm-tool like schsm's own; a certificate that OpenSC stores over the card's request (EF CEnn)
# destroys it, and schsm-tool attest then says so, while a bundle saved before still verifies.
. "$(dirname "$0")/lib.sh"

need_cmd sc-hsm-tool pkcs11-tool pkcs15-init openssl
[ -e "$PKCS11_MODULE" ] || skip "$PKCS11_MODULE missing (apt-get install opensc-pkcs11)"
[ -x "$TOOL" ] || skip "$TOOL not built"

pcsc_start 1
R=$(reader_name 0)
P11=(pkcs11-tool --module "$PKCS11_MODULE")

check init sc-hsm-tool -r "$R" --initialize --so-pin "$SO_PIN" --pin "$PIN" --label attest
check p11-ec-gen "${P11[@]}" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --label p11ec --id 01
check p11-rsa-gen "${P11[@]}" --login --pin "$PIN" --keypairgen --key-type rsa:2048 --label p11rsa --id 02

check attest-ec "$TOOL" --reader "$R" attest --label p11ec --trust-test-root --out "$T/ec.att" --json
check_log_has attest-ec '"attested": true'
check attest-rsa "$TOOL" --reader "$R" attest --id 02 --trust-test-root --json
check_log_has attest-rsa '"key_type": "RSA 2048"'

# OpenSC stores a certificate for key 01 into CE01, over the request, and keeps no copy.
check pub "$TOOL" --reader "$R" export-pubkey --label p11ec --out "$T/ec.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca.key" 2>/dev/null
openssl req -new -x509 -key "$T/ca.key" -subj /CN=attest-ca -days 2 -out "$T/ca.pem" 2>/dev/null
openssl req -new -key "$T/ca.key" -subj /CN=p11ec -out "$T/req.csr" 2>/dev/null
openssl x509 -req -in "$T/req.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -force_pubkey "$T/ec.pub" -days 2 -out "$T/cert.pem" 2>/dev/null
check store-cert pkcs15-init -r "$R" --store-certificate "$T/cert.pem" --id 01 --auth-id 01 --pin "$PIN" \
    --verify-pin
check_fail attest-gone "$TOOL" --reader "$R" attest --id 01 --trust-test-root
check_log_has attest-gone 'no CV request on the card any more'
check_log_has attest-gone 'attest --verify'
check verify-saved "$TOOL" attest --verify "$T/ec.att" --trust-test-root --pubkey "$T/cert.pem"

finish
