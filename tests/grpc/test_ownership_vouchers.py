#!/usr/bin/python3
"""OVGS GetOwnershipVoucher(s) over the wire: a new voucher per component and call, pinned
to the uploaded domain certificate, expiring at the lifetime given, carrying its
revocation_checks, verified by openssl cms and masactl; 100 components in one call answered
in request order with each component's TPM data; all or nothing; each error code; the
vouchers listed by the REST API and audited with the caller."""

import base64
import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf import timestamp_pb2

import ovgs_fixture as fx
from ovgs_fixture import grpc, pb

Code = grpc.StatusCode
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)


def key_der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def cert_der(common_name, not_after, ca=True):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alpha Corp")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def timestamp(when):
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when)
    return t


def component(serial, ien="9"):
    return pb.Component(ien=ien, serial_number=serial)


class OwnershipVouchersTest(fx.OvgsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        w = cls.world
        cls.admin = w.org("alpha")
        # 100 devices with an EK certificate and a platform primary key each (JSON lines).
        cls.ek_cert = cert_der("TPM EK", NOW + 3650 * DAY, ca=False)
        cls.ppk = {}
        path = os.path.join(w.root, "alpha.jsonl")
        with open(path, "w") as f:
            for i in range(100):
                serial = "OV%03d" % i
                cls.ppk[serial] = key_der(ec.generate_private_key(ec.SECP256R1()))
                f.write(json.dumps({"serial": serial, "model": "DCS-7800-SUP", "tpm": {
                    "ek_certificate": base64.b64encode(cls.ek_cert).decode(),
                    "platform_primary_key": base64.b64encode(cls.ppk[serial]).decode()}}) + "\n")
        w.masactl("serials", "assign", "--state", w.state, "--org", "org-alpha", "--file", path)
        w.assign_serials("org-alpha", ["PLAIN1", "PLAIN2"])
        cls.beta = w.org("beta")
        w.assign_serials("org-beta", ["BETA1"])
        cls.pdc_der = cert_der("Alpha Owner CA", NOW + 400 * DAY)
        cls.expiry = NOW + 30 * DAY
        cls.cert_id = w.stub(cls.admin.token).CreateDomainCert(pb.CreateDomainCertRequest(
            group_id="org-alpha", certificate_der=cls.pdc_der, revocation_checks=True,
            expiry_time=timestamp(cls.expiry))).cert_id

    def stub(self, token=None):
        return self.world.stub(token or self.admin.token)

    def one(self, serial, lifetime, cert_id=None, stub=None, ien="9"):
        return (stub or self.stub()).GetOwnershipVoucher(pb.GetOwnershipVoucherRequest(
            component=component(serial, ien), cert_id=cert_id or self.cert_id,
            lifetime=timestamp(lifetime)))

    def many(self, serials, lifetime, cert_id=None, stub=None):
        return (stub or self.stub()).GetOwnershipVouchers(pb.GetOwnershipVouchersRequest(
            component=[component(s) for s in serials], cert_id=cert_id or self.cert_id,
            lifetime=timestamp(lifetime)))

    def openssl_json(self, cms, name):
        path = os.path.join(self.world.root, name + ".vcj")
        out = os.path.join(self.world.root, name + ".json")
        with open(path, "wb") as f:
            f.write(cms)
        r = self.world.openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", path,
                               "-CAfile", self.world.trust_anchor, "-out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Verification successful", r.stderr)
        with open(out) as f:
            return json.load(f)["ietf-voucher:voucher"], path

    def voucher_count(self):
        status, body = self.world.rest("GET", "/vouchers", self.admin.token)
        self.assertEqual(status, 200, body)
        return body["total"]

    def test_a_voucher_verifies_and_carries_what_was_asked(self):
        lifetime = NOW + 7 * DAY
        r = self.one("OV000", lifetime)
        self.assertEqual(r.tpm_info.WhichOneof("ek_data"), "ek_certificate")
        self.assertEqual(r.tpm_info.ek_certificate, self.ek_cert)
        self.assertEqual(r.tpm_info.platform_primary_key, self.ppk["OV000"])
        v, path = self.openssl_json(r.voucher_cms, "OV000")
        self.assertEqual(v["serial-number"], "OV000")
        self.assertEqual(v["domain-cert-revocation-checks"], True)
        self.assertEqual(base64.b64decode(v["pinned-domain-cert"]), self.pdc_der)
        self.assertEqual(datetime.datetime.fromisoformat(v["expires-on"].replace("Z", "+00:00")),
                         lifetime)
        verified = self.world.masactl("voucher", "verify", "--trust-anchor",
                                      self.world.trust_anchor, "--serial", "OV000", path)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        # Every call issues a new voucher.
        again = self.one("OV000", lifetime)
        self.assertNotEqual(again.voucher_cms, r.voucher_cms)
        plain = self.one("PLAIN1", lifetime)
        self.assertEqual(plain.tpm_info.WhichOneof("ek_data"), None)

    def test_hundred_components_in_one_call_in_request_order(self):
        serials = ["OV%03d" % ((i * 37) % 100) for i in range(100)]
        before = self.voucher_count()
        r = self.many(serials, NOW + 2 * DAY)
        self.assertEqual(len(r.ownership_vouchers), 100)
        for serial, v in zip(serials, r.ownership_vouchers):
            self.assertEqual(v.tpm_info.platform_primary_key, self.ppk[serial], serial)
        for i in (0, 41, 99):
            content, _ = self.openssl_json(r.ownership_vouchers[i].voucher_cms, "many%d" % i)
            self.assertEqual(content["serial-number"], serials[i])
        self.assertEqual(self.voucher_count(), before + 100)

    def test_all_or_nothing(self):
        before = self.voucher_count()
        with self.assertRpcError(Code.FAILED_PRECONDITION, "NOPE"):
            self.many(["OV001", "OV002", "NOPE", "OV003"], NOW + DAY)
        with self.assertRpcError(Code.INVALID_ARGUMENT, "OV002"):
            self.many(["OV001", "OV002", "OV002"], NOW + DAY)
        with self.assertRpcError(Code.FAILED_PRECONDITION):  # another organization's serial
            self.many(["OV001", "BETA1"], NOW + DAY)
        self.assertEqual(self.voucher_count(), before)

    def test_error_codes(self):
        with self.assertRpcError(Code.INVALID_ARGUMENT, "lifetime"):
            self.one("OV004", NOW - DAY)
        with self.assertRpcError(Code.INVALID_ARGUMENT, "expiry_time"):
            self.one("OV004", self.expiry + datetime.timedelta(seconds=1))
        with self.assertRpcError(Code.INVALID_ARGUMENT, "30065"):
            self.one("OV004", NOW + DAY, ien="30065")
        with self.assertRpcError(Code.INVALID_ARGUMENT):  # empty field
            self.one("", NOW + DAY)
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            self.one("OV004", NOW + DAY, cert_id="org-alpha.pdc-0000000000000000")
        # A certificate of another organization is unknown to this caller.
        theirs = self.stub(self.beta.token).CreateDomainCert(pb.CreateDomainCertRequest(
            group_id="org-beta", certificate_der=self.pdc_der, revocation_checks=False,
            expiry_time=timestamp(NOW + DAY))).cert_id
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            self.one("OV004", NOW + DAY, cert_id=theirs)
        # Certificate and serial of different organizations, by one who sees both: the
        # vendor's account team.
        token_file = os.path.join(self.world.root, "at.token")
        self.world.masactl("vendor", "add", "--state", self.world.state, "--username",
                           "at@vendor.example", "--role", "account-team", "--token-out",
                           token_file)
        with open(token_file) as f:
            account_team = f.read().strip()
        with self.assertRpcError(Code.INVALID_ARGUMENT, "different organizations"):
            self.one("BETA1", NOW + DAY, stub=self.stub(account_team))
        # A viewer of the group sees the serial but may not request.
        viewer = self.world.user(self.admin, "viewer@alpha.example")
        status, out = self.world.rest("POST", "/bindings", self.admin.token, {
            "principal_id": viewer.principal_id, "group_id": "org-alpha", "role": "viewer"})
        self.assertEqual(status, 201, out)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            self.one("OV004", NOW + DAY, stub=self.stub(viewer.token))

    def test_requestor_gets_vouchers_audited_under_its_own_name(self):
        w = self.world
        requestor = w.user(self.admin, "ztp@alpha.example")
        status, out = w.rest("POST", "/bindings", self.admin.token, {
            "principal_id": requestor.principal_id, "group_id": "org-alpha",
            "role": "requestor"})
        self.assertEqual(status, 201, out)
        before = self.voucher_count()
        r = self.many(["PLAIN2", "OV005"], NOW + DAY, stub=self.stub(requestor.token))
        self.assertEqual(len(r.ownership_vouchers), 2)
        self.assertEqual(self.voucher_count(), before + 2)  # the REST listing shows them
        issued = []
        seq = 0
        while True:
            status, page = w.rest("GET", "/audit?from=%d&limit=1000" % seq, self.admin.token)
            self.assertEqual(status, 200, page)
            issued += [e for e in page["entries"] if e["actor"] == requestor.principal_id]
            if not page["entries"]:
                break
            seq = page["next_seq"]
        actions = sorted(e["action"] for e in issued)
        self.assertEqual(actions, ["request.create", "voucher.issue", "voucher.issue"])


if __name__ == "__main__":
    fx.main()
