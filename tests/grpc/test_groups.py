#!/usr/bin/python3
"""OVGS groups, user roles and delegated organizations over the wire: CreateGroup, GetGroup,
DeleteGroup, Add/RemoveGroupDelegatedOrg, Add/RemoveUserRole and GetUserRole, each with the
roles that may and may not call it and every error code the service answers; a delegated
organization's admin sees and manages only its own organization's users, and loses the
group when its role goes; the vendor's support acts in a customer organization."""

import os

import ovgs_fixture as fx
from ovgs_fixture import grpc, pb

Code = grpc.StatusCode
USER = pb.ACCOUNT_TYPE_USER
SERVICE_ACCOUNT = pb.ACCOUNT_TYPE_SERVICE_ACCOUNT


class GroupsTest(fx.OvgsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        w = cls.world
        cls.admin = w.org("alpha")
        cls.beta = w.org("beta")
        stub = w.stub(cls.admin.token)
        cls.site = stub.CreateGroup(
            pb.CreateGroupRequest(parent="org-alpha", description="Site A (Paris)")).group_id

    def stub(self, who, via="bearer"):
        return self.world.stub(who.token, via=via)

    def add_role(self, by, username, org_id, group_id, role, kind=USER):
        return self.stub(by).AddUserRole(pb.AddUserRoleRequest(
            username=username, user_type=kind, org_id=org_id, group_id=group_id,
            user_role=role))

    def roles(self, by, username, org_id, kind=USER):
        return dict(self.stub(by).GetUserRole(pb.GetUserRoleRequest(
            username=username, user_type=kind, org_id=org_id)).groups)

    def with_role(self, username, group_id, role):
        """A new alpha user with `role` on `group_id`, and its token."""
        p = self.world.user(self.admin, username)
        self.add_role(self.admin, username, "org-alpha", group_id, role)
        return p

    # --- groups ------------------------------------------------------------------------
    def test_groups_create_get_delete(self):
        admin = self.stub(self.admin, via="cookie")
        g = admin.CreateGroup(pb.CreateGroupRequest(parent=self.site, description="rack 1"))
        got = admin.GetGroup(pb.GetGroupRequest(group_id=g.group_id))
        self.assertEqual(got.group_id, g.group_id)
        self.assertEqual(got.description, "rack 1")
        parent = admin.GetGroup(pb.GetGroupRequest(group_id=self.site))
        self.assertIn(g.group_id, parent.child_group_ids)
        self.assertEqual(parent.description, "Site A (Paris)")
        root = admin.GetGroup(pb.GetGroupRequest(group_id="org-alpha"))
        self.assertEqual([(u.username, u.user_type, u.org_id, u.user_role) for u in root.users],
                         [("admin@alpha.example", USER, "org-alpha", pb.USER_ROLE_ADMIN)])
        self.assertEqual(dict(root.delegated_orgs), {})

        with self.assertRpcError(Code.ALREADY_EXISTS):
            admin.CreateGroup(pb.CreateGroupRequest(parent=self.site, description="rack 1"))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            admin.CreateGroup(pb.CreateGroupRequest(parent=self.site, description="x" * 257))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            admin.CreateGroup(pb.CreateGroupRequest(parent=self.site, description=""))
        with self.assertRpcError(Code.NOT_FOUND):
            admin.GetGroup(pb.GetGroupRequest(group_id="org-alpha.g-0000000000000000"))
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            admin.DeleteGroup(pb.DeleteGroupRequest(group_id="org-alpha"))
        # Children, then users, keep a group.
        child = admin.CreateGroup(pb.CreateGroupRequest(parent=g.group_id, description="u1"))
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            admin.DeleteGroup(pb.DeleteGroupRequest(group_id=g.group_id))
        admin.DeleteGroup(pb.DeleteGroupRequest(group_id=child.group_id))
        self.world.user(self.admin, "rack-user", token=False)
        self.add_role(self.admin, "rack-user", "org-alpha", g.group_id, pb.USER_ROLE_REQUESTOR)
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            admin.DeleteGroup(pb.DeleteGroupRequest(group_id=g.group_id))
        admin.RemoveUserRole(pb.RemoveUserRoleRequest(
            username="rack-user", user_type=USER, org_id="org-alpha", group_id=g.group_id))
        admin.DeleteGroup(pb.DeleteGroupRequest(group_id=g.group_id))
        with self.assertRpcError(Code.NOT_FOUND):
            admin.GetGroup(pb.GetGroupRequest(group_id=g.group_id))
        # Another organization sees none of it; no token is no call.
        with self.assertRpcError(Code.NOT_FOUND):
            self.stub(self.beta).GetGroup(pb.GetGroupRequest(group_id=self.site))
        with self.assertRpcError(Code.NOT_FOUND):
            self.stub(self.beta).CreateGroup(
                pb.CreateGroupRequest(parent=self.site, description="intruder"))
        with self.assertRpcError(Code.UNAUTHENTICATED):
            self.world.stub(None).GetGroup(pb.GetGroupRequest(group_id=self.site))

    def test_each_role(self):
        req = self.with_role("req", self.site, pb.USER_ROLE_REQUESTOR)
        asg = self.with_role("asg", self.site, pb.USER_ROLE_ASSIGNER)
        site_admin = self.stub(self.with_role("site-admin", self.site, pb.USER_ROLE_ADMIN))
        self.world.user(self.admin, "target", token=False)
        for name, who, role in (("requestor", req, pb.USER_ROLE_REQUESTOR),
                                ("assigner", asg, pb.USER_ROLE_ASSIGNER)):
            with self.subTest(name):
                stub = self.stub(who)
                self.assertEqual(stub.GetGroup(pb.GetGroupRequest(group_id=self.site)).group_id,
                                 self.site)
                self.assertEqual(self.roles(who, who.username, "org-alpha"), {self.site: role})
                with self.assertRpcError(Code.PERMISSION_DENIED):
                    stub.CreateGroup(pb.CreateGroupRequest(parent=self.site,
                                                           description=name))
                with self.assertRpcError(Code.PERMISSION_DENIED):
                    stub.AddUserRole(pb.AddUserRoleRequest(
                        username="target", user_type=USER, org_id="org-alpha",
                        group_id=self.site, user_role=pb.USER_ROLE_REQUESTOR))
                # The root group is outside their subtree.
                with self.assertRpcError(Code.NOT_FOUND):
                    stub.GetGroup(pb.GetGroupRequest(group_id="org-alpha"))
        g = site_admin.CreateGroup(pb.CreateGroupRequest(parent=self.site, description="lab"))
        site_admin.AddUserRole(pb.AddUserRoleRequest(
            username="target", user_type=USER, org_id="org-alpha", group_id=g.group_id,
            user_role=pb.USER_ROLE_ASSIGNER))
        with self.assertRpcError(Code.PERMISSION_DENIED):
            site_admin.CreateGroup(pb.CreateGroupRequest(parent="org-alpha", description="x"))
        # Only an admin of the root group delegates.
        with self.assertRpcError(Code.PERMISSION_DENIED):
            site_admin.AddGroupDelegatedOrg(
                pb.AddGroupDelegatedOrgRequest(group_id=self.site, org_id="org-beta"))
        site_admin.RemoveUserRole(pb.RemoveUserRoleRequest(
            username="target", user_type=USER, org_id="org-alpha", group_id=g.group_id))
        site_admin.DeleteGroup(pb.DeleteGroupRequest(group_id=g.group_id))
        # SUPPORT is given by support only.
        with self.assertRpcError(Code.PERMISSION_DENIED):
            self.add_role(self.admin, "target", "org-alpha", self.site, pb.USER_ROLE_SUPPORT)

    # --- user roles --------------------------------------------------------------------
    def test_user_roles_by_tuple(self):
        self.world.user(self.admin, "srv-ztp", kind="service-account", token=False)
        self.add_role(self.admin, "srv-ztp", "org-alpha", self.site, pb.USER_ROLE_REQUESTOR,
                      kind=SERVICE_ACCOUNT)
        with self.assertRpcError(Code.ALREADY_EXISTS):
            self.add_role(self.admin, "srv-ztp", "org-alpha", self.site, pb.USER_ROLE_ADMIN,
                          kind=SERVICE_ACCOUNT)
        self.assertEqual(self.roles(self.admin, "srv-ztp", "org-alpha", kind=SERVICE_ACCOUNT),
                         {self.site: pb.USER_ROLE_REQUESTOR})
        # The tuple includes the kind: srv-ztp is not a user.
        with self.assertRpcError(Code.NOT_FOUND):
            self.roles(self.admin, "srv-ztp", "org-alpha")
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            self.add_role(self.admin, "nobody", "org-alpha", self.site, pb.USER_ROLE_ADMIN)
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            self.add_role(self.admin, "srv-ztp", "org-alpha", self.site,
                          pb.USER_ROLE_UNSPECIFIED, kind=SERVICE_ACCOUNT)
        with self.assertRpcError(Code.NOT_FOUND):
            self.add_role(self.admin, "srv-ztp", "org-alpha", "org-alpha.g-0000000000000000",
                          pb.USER_ROLE_ADMIN, kind=SERVICE_ACCOUNT)
        remove = pb.RemoveUserRoleRequest(username="srv-ztp", user_type=SERVICE_ACCOUNT,
                                          org_id="org-alpha", group_id=self.site)
        self.stub(self.admin).RemoveUserRole(remove)
        with self.assertRpcError(Code.NOT_FOUND):
            self.stub(self.admin).RemoveUserRole(remove)
        with self.assertRpcError(Code.NOT_FOUND):
            self.stub(self.admin).RemoveUserRole(pb.RemoveUserRoleRequest(
                username="nobody", user_type=USER, org_id="org-alpha", group_id=self.site))
        self.assertEqual(self.roles(self.admin, "srv-ztp", "org-alpha", kind=SERVICE_ACCOUNT),
                         {})

    def test_the_higher_role_wins_over_the_subtree(self):
        p = self.world.user(self.admin, "mixed")
        rack = self.stub(self.admin).CreateGroup(
            pb.CreateGroupRequest(parent=self.site, description="rack 9")).group_id
        self.add_role(self.admin, "mixed", "org-alpha", "org-alpha", pb.USER_ROLE_REQUESTOR)
        self.add_role(self.admin, "mixed", "org-alpha", self.site, pb.USER_ROLE_ADMIN)
        mixed = self.stub(p)
        g = mixed.CreateGroup(pb.CreateGroupRequest(parent=rack, description="shelf"))
        with self.assertRpcError(Code.PERMISSION_DENIED):
            mixed.CreateGroup(pb.CreateGroupRequest(parent="org-alpha", description="shelf"))
        self.assertEqual(self.roles(self.admin, "mixed", "org-alpha"),
                         {"org-alpha": pb.USER_ROLE_REQUESTOR, self.site: pb.USER_ROLE_ADMIN})
        # A caller sees another user's roles only where it holds a role itself.
        shelf_admin = self.with_role("shelf-admin", g.group_id, pb.USER_ROLE_ADMIN)
        self.assertEqual(self.roles(shelf_admin, "mixed", "org-alpha"), {})
        self.assertEqual(self.roles(p, "shelf-admin", "org-alpha"),
                         {g.group_id: pb.USER_ROLE_ADMIN})

    # --- delegated organizations -------------------------------------------------------
    def test_delegated_organization(self):
        w = self.world
        admin = self.stub(self.admin)
        zone = admin.CreateGroup(pb.CreateGroupRequest(parent=self.site,
                                                       description="delegated")).group_id
        w.user(self.admin, "alpha-ops", token=False)
        self.add_role(self.admin, "alpha-ops", "org-alpha", zone, pb.USER_ROLE_ASSIGNER)
        ops = w.user(self.beta, "beta-ops")
        w.user(self.beta, "beta-ztp", kind="service-account", token=False)
        # Before the delegation beta's users hold no role in alpha's tree.
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            self.add_role(self.admin, "beta-ops", "org-beta", zone, pb.USER_ROLE_ADMIN)

        delegate = pb.AddGroupDelegatedOrgRequest(group_id=zone, org_id="org-beta")
        with self.assertRpcError(Code.NOT_FOUND):
            self.stub(self.beta).AddGroupDelegatedOrg(delegate)
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            admin.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(group_id=zone,
                                                                      org_id="org-alpha"))
        with self.assertRpcError(Code.NOT_FOUND):
            admin.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(group_id=zone,
                                                                      org_id="org-nothere"))
        admin.AddGroupDelegatedOrg(delegate)
        with self.assertRpcError(Code.ALREADY_EXISTS):
            admin.AddGroupDelegatedOrg(delegate)
        self.add_role(self.admin, "beta-ops", "org-beta", zone, pb.USER_ROLE_ADMIN)

        # The delegated admin sees its own organization's users and entry only...
        beta_ops = self.stub(ops)
        seen = beta_ops.GetGroup(pb.GetGroupRequest(group_id=zone))
        self.assertEqual([(u.username, u.org_id) for u in seen.users], [("beta-ops", "org-beta")])
        self.assertEqual({k: list(v.group_ids) for k, v in seen.delegated_orgs.items()},
                         {"org-beta": [zone]})
        full = admin.GetGroup(pb.GetGroupRequest(group_id=zone))
        self.assertEqual(sorted((u.username, u.org_id) for u in full.users),
                         [("alpha-ops", "org-alpha"), ("beta-ops", "org-beta")])
        # ...reaches the subtree, not the rest of the tree...
        sub = beta_ops.CreateGroup(pb.CreateGroupRequest(parent=zone, description="beta lab"))
        with self.assertRpcError(Code.NOT_FOUND):
            beta_ops.GetGroup(pb.GetGroupRequest(group_id=self.site))
        # ...and manages its own organization's users only.
        self.add_role(ops, "beta-ztp", "org-beta", sub.group_id, pb.USER_ROLE_REQUESTOR,
                      kind=SERVICE_ACCOUNT)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            self.add_role(ops, "alpha-ops", "org-alpha", sub.group_id, pb.USER_ROLE_REQUESTOR)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            beta_ops.RemoveUserRole(pb.RemoveUserRoleRequest(
                username="alpha-ops", user_type=USER, org_id="org-alpha", group_id=zone))
        with self.assertRpcError(Code.PERMISSION_DENIED):
            beta_ops.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(
                group_id=sub.group_id, org_id="org-beta"))
        self.assertEqual(self.roles(ops, "beta-ztp", "org-beta", kind=SERVICE_ACCOUNT),
                         {sub.group_id: pb.USER_ROLE_REQUESTOR})
        self.assertEqual(self.roles(ops, "alpha-ops", "org-alpha"), {})
        self.assertEqual(self.roles(self.admin, "beta-ops", "org-beta"),
                         {zone: pb.USER_ROLE_ADMIN})

        # The delegation stays while beta's users need it.
        undelegate = pb.RemoveGroupDelegatedOrgRequest(group_id=zone, org_id="org-beta")
        with self.assertRpcError(Code.FAILED_PRECONDITION):
            admin.RemoveGroupDelegatedOrg(undelegate)
        with self.assertRpcError(Code.PERMISSION_DENIED):
            beta_ops.RemoveGroupDelegatedOrg(undelegate)
        beta_ops.RemoveUserRole(pb.RemoveUserRoleRequest(
            username="beta-ztp", user_type=SERVICE_ACCOUNT, org_id="org-beta",
            group_id=sub.group_id))
        admin.DeleteGroup(pb.DeleteGroupRequest(group_id=sub.group_id))
        admin.RemoveUserRole(pb.RemoveUserRoleRequest(
            username="beta-ops", user_type=USER, org_id="org-beta", group_id=zone))
        with self.assertRpcError(Code.NOT_FOUND):
            beta_ops.GetGroup(pb.GetGroupRequest(group_id=zone))
        admin.RemoveGroupDelegatedOrg(undelegate)
        with self.assertRpcError(Code.NOT_FOUND):
            admin.RemoveGroupDelegatedOrg(undelegate)
        self.assertEqual(dict(admin.GetGroup(pb.GetGroupRequest(group_id=zone)).delegated_orgs),
                         {})

    def test_any_organization_and_inheritance(self):
        admin = self.stub(self.admin)
        area = admin.CreateGroup(pb.CreateGroupRequest(parent=self.site,
                                                       description="open area")).group_id
        admin.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(group_id=area, org_id="*"))
        admin.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(group_id="org-alpha",
                                                                  org_id="org-beta"))
        # A group created later inherits both, listed from the root down.
        later = admin.CreateGroup(pb.CreateGroupRequest(parent=area,
                                                        description="later")).group_id
        got = admin.GetGroup(pb.GetGroupRequest(group_id=later))
        self.assertEqual({k: list(v.group_ids) for k, v in got.delegated_orgs.items()},
                         {"*": [area], "org-beta": ["org-alpha"]})
        admin.RemoveGroupDelegatedOrg(pb.RemoveGroupDelegatedOrgRequest(group_id=area,
                                                                        org_id="*"))
        admin.RemoveGroupDelegatedOrg(pb.RemoveGroupDelegatedOrgRequest(group_id="org-alpha",
                                                                        org_id="org-beta"))

    # --- the vendor's support ----------------------------------------------------------
    def test_support_acts_in_customer_organizations(self):
        w = self.world
        token_file = os.path.join(w.root, "support.token")
        w.masactl("vendor", "add", "--state", w.state, "--username", "support@vendor.example",
                  "--role", "support", "--token-out", token_file)
        with open(token_file) as f:
            support = fx.Principal("org-vendor", "support@vendor.example", f.read().strip())
        stub = self.stub(support)
        g = stub.CreateGroup(pb.CreateGroupRequest(parent=self.site, description="by support"))
        w.user(self.admin, "helped", token=False)
        self.add_role(support, "helped", "org-alpha", g.group_id, pb.USER_ROLE_ADMIN)
        self.assertEqual(self.roles(support, "helped", "org-alpha"),
                         {g.group_id: pb.USER_ROLE_ADMIN})
        with self.assertRpcError(Code.PERMISSION_DENIED):
            stub.AddGroupDelegatedOrg(pb.AddGroupDelegatedOrgRequest(group_id=g.group_id,
                                                                     org_id="org-beta"))
        # SUPPORT exists on the vendor's root group only.
        with self.assertRpcError(Code.INVALID_ARGUMENT):
            self.add_role(support, "helped", "org-alpha", self.site, pb.USER_ROLE_SUPPORT)
        stub.RemoveUserRole(pb.RemoveUserRoleRequest(
            username="helped", user_type=USER, org_id="org-alpha", group_id=g.group_id))
        stub.DeleteGroup(pb.DeleteGroupRequest(group_id=g.group_id))


if __name__ == "__main__":
    fx.main()
