#!/usr/bin/python3
"""OVGS serials over the wire: the vendor loads model, MAC address and TPM data with the
assignment (masactl serials assign --file, CSV), and GetSerial, GetSerials and the
GetComponents stream return them; AddSerial moves a serial between groups (ALREADY_EXISTS
when it is already there), RemoveSerial takes it back to the root group."""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import ovgs_fixture as fx
from ovgs_fixture import grpc, pb

Code = grpc.StatusCode


def public_key_der():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def component(serial, ien="9"):
    return pb.Component(ien=ien, serial_number=serial)


class SerialsTest(fx.OvgsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        w = cls.world
        cls.admin = w.org("alpha")
        cls.ek, cls.ppk = public_key_der(), public_key_der()
        path = os.path.join(w.root, "alpha-devices.csv")
        with open(path, "w") as f:
            f.write("# the vendor's export: EK in base64, platform primary key in hex\n")
            f.write("serial,model,mac,ek,ppk\n")
            f.write("ABC101,DCS-7800-SUP,00:00:5E:00:53:AF,%s,%s\n"
                    % (base64.b64encode(cls.ek).decode(), cls.ppk.hex()))
            for i in range(2, 10):
                f.write("ABC10%d,DCS-7800-SUP,,,\n" % i)
        w.masactl("serials", "assign", "--state", w.state, "--org", "org-alpha", "--file", path)
        w.org("beta")
        w.assign_serials("org-beta", ["BETA1"])
        stub = w.stub(cls.admin.token)
        cls.site_a = stub.CreateGroup(
            pb.CreateGroupRequest(parent="org-alpha", description="site-a")).group_id
        cls.site_b = stub.CreateGroup(
            pb.CreateGroupRequest(parent="org-alpha", description="site-b")).group_id

    def stub(self, who=None):
        return self.world.stub((who or self.admin).token)

    def bind(self, principal, group_id, role):
        status, out = self.world.rest("POST", "/bindings", self.admin.token, {
            "principal_id": principal.principal_id, "group_id": group_id, "role": role})
        self.assertEqual(status, 201, out)

    def group_ids(self, serial):
        return list(self.stub().GetSerial(
            pb.GetSerialRequest(component=component(serial))).group_ids)

    def test_get_serial_returns_the_device_data_loaded_with_the_assignment(self):
        for via in ("bearer", "cookie"):
            r = self.world.stub(self.admin.token, via=via).GetSerial(
                pb.GetSerialRequest(component=component("ABC101")))
            self.assertEqual(r.model, "DCS-7800-SUP")
            self.assertEqual(r.mac_addr, "00:00:5e:00:53:af")
            self.assertEqual(r.tpm_info.WhichOneof("ek_data"), "endorsement_key")
            self.assertEqual(r.tpm_info.endorsement_key, self.ek)
            self.assertEqual(r.tpm_info.platform_primary_key, self.ppk)
            self.assertEqual(list(r.group_ids), ["org-alpha"])
        plain = self.stub().GetSerial(pb.GetSerialRequest(component=component("ABC102")))
        self.assertEqual(plain.tpm_info.WhichOneof("ek_data"), None)
        self.assertEqual(plain.mac_addr, "")

    def test_add_serial_moves_it_and_says_already_exists_when_it_is_there(self):
        stub = self.stub()
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC103"), group_id=self.site_a))
        self.assertEqual(self.group_ids("ABC103"), [self.site_a, "org-alpha"])
        with self.assertRpcError(Code.ALREADY_EXISTS, "ABC103"):
            stub.AddSerial(pb.AddSerialRequest(component=component("ABC103"),
                                               group_id=self.site_a))
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC103"), group_id=self.site_b))
        self.assertEqual(self.group_ids("ABC103"), [self.site_b, "org-alpha"])
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            stub.AddSerial(pb.AddSerialRequest(component=component("ABC103", ien="30065"),
                                               group_id=self.site_a))
        with self.assertRpcError(Code.NOT_FOUND):
            stub.AddSerial(pb.AddSerialRequest(component=component("NOPE"),
                                               group_id=self.site_a))

    def test_remove_serial_takes_it_back_to_the_root_group(self):
        stub = self.stub()
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC104"), group_id=self.site_a))
        stub.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC104"),
                                                 group_id=self.site_a))
        self.assertEqual(self.group_ids("ABC104"), ["org-alpha"])
        with self.assertRpcError(Code.NOT_FOUND):
            stub.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC104"),
                                                     group_id=self.site_a))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            stub.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC104"),
                                                     group_id="org-alpha"))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            stub.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC104", "30065"),
                                                     group_id=self.site_a))

    def test_get_serials_answers_in_request_order_all_or_nothing(self):
        stub = self.stub()
        r = stub.GetSerials(pb.GetSerialsRequest(components=[
            component("ABC109"), component("ABC101"), component("ABC105")]))
        self.assertEqual([s.tpm_info.endorsement_key == self.ek for s in r.serials],
                         [False, True, False])
        self.assertEqual(len(r.serials), 3)
        with self.assertRpcError(Code.NOT_FOUND, "NOPE"):
            stub.GetSerials(pb.GetSerialsRequest(components=[component("ABC101"),
                                                             component("NOPE")]))
        with self.assertRpcError(Code.NOT_FOUND):  # another organization's serial
            stub.GetSerials(pb.GetSerialsRequest(components=[component("BETA1")]))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            stub.GetSerials(pb.GetSerialsRequest(components=[component("ABC101", "30065")]))

    def test_get_components_streams_a_group_in_serial_order(self):
        stub = self.stub()
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC107"), group_id=self.site_b))
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC106"), group_id=self.site_b))
        site = list(stub.GetComponents(pb.GetComponentsRequest(group_id=self.site_b)))
        serials = [m.component.serial_number for m in site]
        self.assertIn("ABC106", serials)
        self.assertEqual(serials, sorted(serials))
        for m in site:
            self.assertEqual(m.component.ien, "9")
            self.assertEqual(list(m.serial.group_ids), [self.site_b, "org-alpha"])
        root = list(stub.GetComponents(pb.GetComponentsRequest(group_id="org-alpha")))
        self.assertEqual([m.component.serial_number for m in root],
                         ["ABC10%d" % i for i in range(1, 10)])
        first = root[0].serial
        self.assertEqual((first.mac_addr, first.tpm_info.platform_primary_key),
                         ("00:00:5e:00:53:af", self.ppk))
        with self.assertRpcError(Code.NOT_FOUND):
            list(stub.GetComponents(pb.GetComponentsRequest(group_id="org-beta")))

    def test_roles_requestor_reads_its_subtree_assigner_moves_within_it(self):
        w = self.world
        stub = self.stub()
        stub.AddSerial(pb.AddSerialRequest(component=component("ABC108"), group_id=self.site_a))
        requestor = w.user(self.admin, "req-a@alpha.example")
        self.bind(requestor, self.site_a, "requestor")
        assigner = w.user(self.admin, "assign-a@alpha.example")
        self.bind(assigner, self.site_a, "assigner")
        as_requestor = self.stub(requestor)
        self.assertEqual(list(as_requestor.GetSerial(
            pb.GetSerialRequest(component=component("ABC108"))).group_ids),
            [self.site_a, "org-alpha"])
        with self.assertRpcError(Code.NOT_FOUND):  # the root group's serial is not its own
            as_requestor.GetSerial(pb.GetSerialRequest(component=component("ABC102")))
        with self.assertRpcError(Code.PERMISSION_DENIED):
            as_requestor.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC108"),
                                                             group_id=self.site_a))
        as_assigner = self.stub(assigner)
        with self.assertRpcError(Code.PERMISSION_DENIED):  # none on site-b, the target
            as_assigner.AddSerial(pb.AddSerialRequest(component=component("ABC108"),
                                                      group_id=self.site_b))
        as_assigner.RemoveSerial(pb.RemoveSerialRequest(component=component("ABC108"),
                                                        group_id=self.site_a))
        self.assertEqual(self.group_ids("ABC108"), ["org-alpha"])
        with self.assertRpcError(Code.NOT_FOUND):  # nor on the root, now its source
            as_assigner.AddSerial(pb.AddSerialRequest(component=component("ABC108"),
                                                      group_id=self.site_a))


if __name__ == "__main__":
    fx.main()
