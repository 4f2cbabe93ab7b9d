#!/usr/bin/python3
"""The gRPC transport of masad, seen by grpcio: TLS only, the REST API's tokens in either
metadata form (and UNAUTHENTICATED for none, a bad one or a revoked one), server reflection
listing the 18 OVGS methods, the message size limit, required fields named, and unknown
methods answered UNIMPLEMENTED."""

import os

import ovgs_fixture as fx
from ovgs_fixture import grpc, pb

fx.generate_stubs(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "reflection_subset.proto"))
import reflection_subset_pb2 as rpb  # noqa: E402
import reflection_subset_pb2_grpc as rpb_grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

RPCS = ["CreateGroup", "GetGroup", "DeleteGroup", "AddGroupDelegatedOrg",
        "RemoveGroupDelegatedOrg", "AddUserRole", "RemoveUserRole", "GetUserRole", "AddSerial",
        "RemoveSerial", "GetSerial", "GetSerials", "GetComponents", "CreateDomainCert",
        "GetDomainCert", "DeleteDomainCert", "GetOwnershipVoucher", "GetOwnershipVouchers"]


class TransportTest(fx.OvgsTestCase):

    def test_plaintext_client_is_refused(self):
        channel = self.world.track(grpc.insecure_channel("127.0.0.1:%d" % self.world.grpc_port))
        stub = fx.pb_grpc.OwnershipVoucherServiceStub(channel)
        with self.assertRpcError(grpc.StatusCode.UNAVAILABLE):
            stub.GetGroup(pb.GetGroupRequest(group_id="org-x"), timeout=30)

    def test_a_client_that_does_not_trust_the_certificate_is_refused(self):
        with open(self.world.trust_anchor, "rb") as f:
            other_ca = f.read()  # the vendor CA did not issue the TLS certificate
        channel = self.world.track(grpc.secure_channel(
            "localhost:%d" % self.world.grpc_port, grpc.ssl_channel_credentials(other_ca)))
        stub = fx.pb_grpc.OwnershipVoucherServiceStub(channel)
        with self.assertRpcError(grpc.StatusCode.UNAVAILABLE):
            stub.GetGroup(pb.GetGroupRequest(group_id="org-x"), timeout=30)

    def test_no_token_is_unauthenticated_and_says_how_to_send_one(self):
        with self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, "authorization: Bearer"):
            self.world.stub().GetGroup(pb.GetGroupRequest(group_id="org-x"))
        # A cookie header without access_token, and another scheme, are no token either.
        metadata = [(("cookie", "theme=dark; session=1"),),
                    (("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),)]
        for md in metadata:
            with self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED, "no token"):
                self.world.stub().GetGroup(pb.GetGroupRequest(group_id="org-x"), metadata=md)

    def test_an_unknown_token_is_unauthenticated_in_both_forms(self):
        bogus = "masa_" + "0" * 64
        for via in ("bearer", "cookie"):
            with self.subTest(via=via):
                with self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED) as e:
                    self.world.stub(bogus, via).GetGroup(pb.GetGroupRequest(group_id="org-x"))
                self.assertNotIn(bogus, e.exception.details())

    def test_a_revoked_token_stops_working_at_once_in_both_forms(self):
        admin = self.world.org("alpha")
        token_id, secret = self.world.token_for(admin)
        for via in ("bearer", "cookie"):
            stub = self.world.stub(secret, via)
            # While valid, the call passes authentication (whatever the RPC answers then).
            try:
                stub.GetGroup(pb.GetGroupRequest(group_id=admin.org_id))
            except grpc.RpcError as e:
                self.assertNotEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED, e.details())
        status, _ = self.world.rest("DELETE", "/tokens/" + token_id, admin.token)
        self.assertIn(status, (200, 204))
        for via in ("bearer", "cookie"):
            with self.subTest(via=via):
                with self.assertRpcError(grpc.StatusCode.UNAUTHENTICATED) as e:
                    self.world.stub(secret, via).GetGroup(
                        pb.GetGroupRequest(group_id=admin.org_id))
                self.assertNotIn(secret, e.exception.details())
        # The admin's own token is untouched.
        try:
            self.world.stub(admin.token).GetGroup(pb.GetGroupRequest(group_id=admin.org_id))
        except grpc.RpcError as e:
            self.assertNotEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED, e.details())

    def test_reflection_lists_the_service_and_its_18_methods(self):
        stub = rpb_grpc.ServerReflectionStub(self.world.channel())
        requests = [rpb.ServerReflectionRequest(list_services=""),
                    rpb.ServerReflectionRequest(file_containing_symbol=fx.SERVICE)]
        answers = list(stub.ServerReflectionInfo(iter(requests), timeout=30))
        self.assertEqual(len(answers), 2)
        names = [s.name for s in answers[0].list_services_response.service]
        self.assertIn(fx.SERVICE, names)
        files = {}
        for raw in answers[1].file_descriptor_response.file_descriptor_proto:
            f = descriptor_pb2.FileDescriptorProto.FromString(raw)
            files[f.name] = f
        ovgs = [f for f in files.values() if f.package == "ovgs.v1"]
        self.assertEqual(len(ovgs), 1, list(files))
        service = [s for s in ovgs[0].service if s.name == "OwnershipVoucherService"][0]
        methods = {m.name: m for m in service.method}
        self.assertEqual(sorted(methods), sorted(RPCS))
        for name, m in methods.items():
            self.assertEqual(m.input_type, ".ovgs.v1.%sRequest" % name)
            self.assertEqual(m.output_type, ".ovgs.v1.%sResponse" % name)
            self.assertEqual(m.server_streaming, name == "GetComponents", name)
            self.assertFalse(m.client_streaming, name)

    def test_an_unknown_method_is_unimplemented(self):
        call = self.world.channel(grpc.access_token_call_credentials(
            self.world.org("alpha").token)).unary_unary(
                "/%s/GetEverything" % fx.SERVICE,
                request_serializer=pb.GetGroupRequest.SerializeToString,
                response_deserializer=pb.GetGroupResponse.FromString)
        with self.assertRpcError(grpc.StatusCode.UNIMPLEMENTED,
                                 "no method /%s/GetEverything here" % fx.SERVICE):
            call(pb.GetGroupRequest(group_id="org-alpha"), timeout=30)
        # Another service altogether, without a token: the same answer.
        call = self.world.channel().unary_unary("/ovgs.v2.Other/Get")
        with self.assertRpcError(grpc.StatusCode.UNIMPLEMENTED, "OwnershipVoucherService"):
            call(b"", timeout=30)

    def test_required_fields_are_named(self):
        stub = self.world.stub(self.world.org("alpha").token, "cookie")
        cases = [
            (stub.GetGroup, pb.GetGroupRequest(), "group_id is required"),
            (stub.CreateGroup, pb.CreateGroupRequest(parent="org-alpha"),
             "description is required"),
            (stub.AddUserRole, pb.AddUserRoleRequest(username="u", org_id="org-alpha",
                                                     group_id="org-alpha",
                                                     user_role=pb.USER_ROLE_ADMIN),
             "user_type is required"),
            (stub.AddUserRole, pb.AddUserRoleRequest(username="u", org_id="org-alpha",
                                                     user_type=pb.ACCOUNT_TYPE_USER,
                                                     group_id="org-alpha"),
             "user_role is required"),
            (stub.GetSerial, pb.GetSerialRequest(), "component is required"),
            (stub.GetSerial, pb.GetSerialRequest(component=pb.Component(serial_number="A")),
             "component.ien is required"),
            (stub.GetSerials, pb.GetSerialsRequest(components=[
                pb.Component(ien="9", serial_number="A"), pb.Component(ien="9")]),
             "components[1].serial_number is required"),
            (stub.CreateDomainCert, pb.CreateDomainCertRequest(
                group_id="org-alpha", certificate_der=b"\x30\x00"), "expiry_time is required"),
            (stub.GetOwnershipVoucher, pb.GetOwnershipVoucherRequest(
                component=pb.Component(ien="9", serial_number="A")), "cert_id is required"),
            (stub.GetOwnershipVoucher, pb.GetOwnershipVoucherRequest(
                component=pb.Component(ien="9", serial_number="A"), cert_id="c"),
             "lifetime is required"),
            (stub.GetOwnershipVouchers, pb.GetOwnershipVouchersRequest(cert_id="c"),
             "component is required"),
        ]
        for rpc, request, message in cases:
            with self.subTest(message=message):
                with self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, message):
                    rpc(request, timeout=30)
        with self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "group_id is required"):
            list(stub.GetComponents(pb.GetComponentsRequest(), timeout=30))

    def test_a_request_over_the_size_limit_is_refused(self):
        stub = self.world.stub(self.world.org("alpha").token)
        big = pb.GetSerialsRequest(components=[
            pb.Component(ien="9", serial_number="S%07d" % i + "x" * 100) for i in range(45000)])
        self.assertGreater(big.ByteSize(), 4 * 1024 * 1024)
        with self.assertRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED):
            stub.GetSerials(big, timeout=60)


if __name__ == "__main__":
    fx.main()
