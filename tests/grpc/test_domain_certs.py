#!/usr/bin/python3
"""OVGS domain certificates over the wire: CreateDomainCert stores revocation_checks and
expiry_time and GetDomainCert returns them; the same (certificate, revocation_checks,
expiry_time) in one group is ALREADY_EXISTS; an expiry_time not in the future, a malformed
or an expired certificate is INVALID_ARGUMENT; these are the REST API's PDCs."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.protobuf import timestamp_pb2

import ovgs_fixture as fx
from ovgs_fixture import grpc, pb

Code = grpc.StatusCode
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def owner_cert_der(common_name, not_before, not_after):
    """A self-signed P-256 CA certificate, DER."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alpha Corp")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def timestamp(when):
    t = timestamp_pb2.Timestamp()
    t.FromDatetime(when)
    return t


class DomainCertsTest(fx.OvgsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.world.org("alpha")
        cls.der = owner_cert_der("Alpha Owner CA", NOW - datetime.timedelta(hours=1),
                                 NOW + datetime.timedelta(days=400))
        cls.site = cls.world.stub(cls.admin.token).CreateGroup(
            pb.CreateGroupRequest(parent="org-alpha", description="site")).group_id

    def create(self, group_id, der, revocation_checks, expiry, stub=None):
        return (stub or self.world.stub(self.admin.token)).CreateDomainCert(
            pb.CreateDomainCertRequest(group_id=group_id, certificate_der=der,
                                       revocation_checks=revocation_checks,
                                       expiry_time=timestamp(expiry))).cert_id

    def test_settings_are_stored_returned_and_shown_by_rest_too(self):
        expiry = NOW + datetime.timedelta(days=30)
        cert_id = self.create("org-alpha", self.der, True, expiry)
        for via in ("bearer", "cookie"):
            got = self.world.stub(self.admin.token, via=via).GetDomainCert(
                pb.GetDomainCertRequest(cert_id=cert_id))
            self.assertEqual(got.cert_id, cert_id)
            self.assertEqual(got.group_id, "org-alpha")
            self.assertEqual(got.certificate_der, self.der)
            self.assertTrue(got.revocation_checks)
            self.assertEqual(got.expiry_time.ToDatetime(datetime.timezone.utc), expiry)
        status, body = self.world.rest("GET", "/pdc/" + cert_id, self.admin.token)
        self.assertEqual(status, 200, body)
        self.assertIn(cert_id, str(body))

    def test_the_same_triple_in_one_group_already_exists(self):
        expiry = NOW + datetime.timedelta(days=20)
        self.create(self.site, self.der, False, expiry)
        with self.assertRpcError(Code.ALREADY_EXISTS):
            self.create(self.site, self.der, False, expiry)
        # Another revocation_checks, another expiry_time or another group: another PDC.
        self.create(self.site, self.der, True, expiry)
        self.create(self.site, self.der, False, expiry + datetime.timedelta(seconds=1))
        self.create("org-alpha", self.der, False, expiry)

    def test_bad_input_is_invalid_argument(self):
        with self.assertRpcError(Code.INVALID_ARGUMENT, "expiry_time"):
            self.create("org-alpha", self.der, True, NOW - datetime.timedelta(seconds=1))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            self.create("org-alpha", b"\x30\x03\x02\x01\x05", True,
                        NOW + datetime.timedelta(days=1))
        expired = owner_cert_der("Old CA", NOW - datetime.timedelta(days=10),
                                 NOW - datetime.timedelta(days=1))
        with self.assertRpcError(Code.INVALID_ARGUMENT, "expired"):
            self.create("org-alpha", expired, True, NOW + datetime.timedelta(days=1))
        with self.assertRpcError(Code.INVALID_ARGUMENT, "expiry_time"):
            self.world.stub(self.admin.token).CreateDomainCert(pb.CreateDomainCertRequest(
                group_id="org-alpha", certificate_der=self.der))

    def test_delete_and_who_may(self):
        w = self.world
        cert_id = self.create(self.site, self.der, True, NOW + datetime.timedelta(days=5))
        requestor = w.user(self.admin, "req@alpha.example")
        status, out = w.rest("POST", "/bindings", self.admin.token, {
            "principal_id": requestor.principal_id, "group_id": self.site, "role": "requestor"})
        self.assertEqual(status, 201, out)
        as_requestor = w.stub(requestor.token)
        self.assertTrue(as_requestor.GetDomainCert(
            pb.GetDomainCertRequest(cert_id=cert_id)).revocation_checks)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            self.create(self.site, self.der, False, NOW + datetime.timedelta(days=6),
                        stub=as_requestor)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            as_requestor.DeleteDomainCert(pb.DeleteDomainCertRequest(cert_id=cert_id))
        other = w.org("beta")
        with self.assertRpcError(Code.NOT_FOUND):
            w.stub(other.token).GetDomainCert(pb.GetDomainCertRequest(cert_id=cert_id))
        w.stub(self.admin.token).DeleteDomainCert(pb.DeleteDomainCertRequest(cert_id=cert_id))
        with self.assertRpcError(Code.NOT_FOUND):
            as_requestor.GetDomainCert(pb.GetDomainCertRequest(cert_id=cert_id))


if __name__ == "__main__":
    fx.main()
