"""LS-2 client groups: business type, members single / batch, edit, delete — all through
approval; pages, the member upload on the shared import flow, the API, and who may do what."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db

FLOW = "lists.client_group"


def submit(users, payload, target=None):
    return services.submit(flow=FLOW, target=target, payload=payload, maker=users["officer"])


def approve(users, change):
    services.approve(request_id=change.pk, user=users["approver"])
    change.refresh_from_db()
    assert change.status == "applied", change.failure
    return change


@pytest.fixture
def clients(book):
    from riskdesk.book.models import Client

    Client.objects.create(code="C2", name="Lee Siu Ming")
    Client.objects.create(code="C3", name="Wong Ka Yan")
    return book


@pytest.fixture
def vip(users, clients):
    from riskdesk.lists.models import ClientGroup

    approve(users, submit(users, {"name": "VIP", "business_type": "margin", "members": ["C1"]}))
    return ClientGroup.objects.get(name="VIP")


def test_create_with_a_business_type_then_change_members_and_type(users, clients):
    # Arrange
    from riskdesk.lists.models import ClientGroup

    # Act
    change = submit(users, {"name": "VIP", "business_type": "margin", "members": "C2\nC1"})

    # Assert
    assert change.target_key == "client-group:VIP"
    assert change.payload == {
        "name": "VIP",
        "note": "",
        "business_type": "margin",
        "members": ["C1", "C2"],
    }
    assert not ClientGroup.objects.exists()
    approve(users, change)
    group = ClientGroup.objects.get()
    assert sorted(group.members.values_list("client__code", flat=True)) == ["C1", "C2"]

    # Act: a report group now, with C3 only
    approve(users, submit(users, {"business_type": "report", "members": ["C3"]}, group))

    # Assert
    group.refresh_from_db()
    assert group.business_type == "report"
    assert list(group.members.values_list("client__code", flat=True)) == ["C3"]
    assert group.history.count() == 2


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"name": "X"}, "business_type", "required"),
        ({"name": "X", "business_type": "fees"}, "business_type", "one of margin, report"),
        ({"name": "VIP", "business_type": "margin"}, "name", "already exists"),
        (
            {"name": "X", "business_type": "margin", "members": ["C1", "C9"]},
            "members",
            "no client C9",
        ),
        ({"name": "X", "business_type": "margin", "members": 5}, "members", "a list of codes"),
    ],
)
def test_a_bad_group_is_refused_naming_the_field(users, vip, payload, field, reason):
    with pytest.raises(ValidationError) as caught:
        submit(users, payload)
    got_field, messages = next(iter(caught.value.message_dict.items()))
    assert got_field == field and reason in messages[0]


def test_a_deletion_changes_nothing_else_and_removes_the_members(users, vip):
    # Arrange
    from riskdesk.lists.models import ClientGroup, ClientGroupMember

    with pytest.raises(ValidationError):
        submit(users, {"delete": True, "name": "Other"}, vip)

    # Act
    change = approve(users, submit(users, {"delete": True}, vip))

    # Assert
    assert change.payload == {"deleted": True}
    assert change.record_url == "/lists/client-groups/"
    assert not ClientGroup.objects.exists() and not ClientGroupMember.objects.exists()
    assert ClientGroupMember.history.filter(history_type="-").count() == 1


def test_pages_list_detail_and_single_member_changes(client, users, vip):
    # Arrange
    client.force_login(users["officer"])

    # Act
    listing = client.get("/lists/client-groups/", {"business_type": "margin"})
    report_only = client.get("/lists/client-groups/", {"business_type": "report"})
    detail = client.get(f"/lists/client-groups/{vip.pk}/")

    # Assert
    row = listing.context["result"]["rows"][0]
    assert (row["name"], row["business_type"], row["member_count"], row["rule_count"]) == (
        "VIP",
        "margin",
        1,
        0,
    )
    assert report_only.context["result"]["rows"] == []
    assert b'data-testid="business-type"' in detail.content and b'data-code="C1"' in detail.content
    assert b"No active rule uses this group." in detail.content

    # Act: remove C1 → one request
    remove = client.post(f"/lists/client-groups/{vip.pk}/members/remove/", {"code": "C1"})

    # Assert
    change = ChangeRequest.objects.get(status="pending")
    assert remove.url == f"/approvals/requests/{change.pk}/"
    assert change.before["members"] == ["C1"] and change.payload["members"] == []

    # Act: add an unknown client while nothing is pending → refused as a message
    services.withdraw(request_id=change.pk, user=users["officer"])
    add = client.post(f"/lists/client-groups/{vip.pk}/members/add/", {"code": "C9"}, follow=True)

    # Assert
    assert b"no client C9" in add.content
    assert not ChangeRequest.objects.filter(status="pending").exists()


def test_new_and_edit_forms(client, users, vip):
    # Arrange
    client.force_login(users["officer"])

    # Act
    form = client.get("/lists/client-groups/new/")
    new = client.post(
        "/lists/client-groups/new/",
        {"name": "Reports", "business_type": "report", "note": "monthly", "members": "C2, C3"},
    )
    edit = client.post(
        f"/lists/client-groups/{vip.pk}/edit/",
        {"name": "VIP", "business_type": "margin", "note": "top clients"},
    )

    # Assert
    assert b'name="business_type"' in form.content
    first, second = ChangeRequest.objects.filter(status="pending").order_by("id")
    assert new.url == f"/approvals/requests/{first.pk}/"
    assert first.payload == {
        "name": "Reports",
        "note": "monthly",
        "business_type": "report",
        "members": ["C2", "C3"],
    }
    assert edit.url == f"/approvals/requests/{second.pk}/"
    assert second.payload["note"] == "top clients" and second.payload["members"] == ["C1"]


def test_batch_paste_and_upload_each_make_one_request(client, users, vip):
    # Arrange
    client.force_login(users["officer"])

    # Act: paste
    paste = client.post(f"/lists/client-groups/{vip.pk}/members/batch/", {"codes": "C2\nC3\nC2"})
    pasted = ChangeRequest.objects.get(status="pending")

    # Assert
    assert paste.url == f"/approvals/requests/{pasted.pk}/"
    assert pasted.payload["members"] == ["C1", "C2", "C3"]

    # Act: an upload while the paste waits → the rows say so, nothing is submitted
    upload = client.post(
        "/lists/client-groups/import/",
        {
            "file": SimpleUploadedFile(
                "m.csv", b"group,client\nVIP,C2\nVIP,C3\n", content_type="text/csv"
            )
        },
    )
    preview = client.get(upload.url)

    # Assert
    assert preview.context["bad"] == 2
    assert (
        f"request #{pasted.pk} already proposes a change of VIP"
        in preview.context["rows"][0]["errors"][0]
    )

    # Act: withdraw the paste; upload again and confirm
    services.withdraw(request_id=pasted.pk, user=users["officer"])
    upload = client.post(
        "/lists/client-groups/import/",
        {
            "file": SimpleUploadedFile(
                "m.csv", b"group,client\nVIP,C2\nVIP,C3\n", content_type="text/csv"
            )
        },
    )
    confirm = client.post(upload.url, {"action": "confirm"})

    # Assert: ONE request for the group with both members
    uploaded = ChangeRequest.objects.get(status="pending")
    assert confirm.url == f"/approvals/requests/{uploaded.pk}/"
    assert uploaded.flow == FLOW and uploaded.payload["members"] == ["C1", "C2", "C3"]


def test_the_group_page_lists_the_rules_that_use_it_and_delete_is_refused(client, users, book, vip):
    # Arrange
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        rule = ClientMarginRule.objects.create(
            side="long",
            client_group=vip,
            instrument=book["tencent"],
            im="0.5",
            mcm="0.4",
            mm="0.3",
            fm="0.2",
        )
    client.force_login(users["officer"])

    # Act
    detail = client.get(f"/lists/client-groups/{vip.pk}/")
    delete = client.post(f"/lists/client-groups/{vip.pk}/delete/", follow=True)

    # Assert
    assert f"/margin/client-rules/{rule.pk}/".encode() in detail.content
    assert f"active client margin rules use this group (#{rule.pk})".encode() in delete.content
    assert not ChangeRequest.objects.filter(status="pending").exists()


def test_the_auditor_reads_but_may_not_change(client, users, vip):
    # Arrange
    client.force_login(users["auditor"])

    # Act / Assert
    assert client.get("/lists/client-groups/").status_code == 200
    assert client.get(f"/lists/client-groups/{vip.pk}/").status_code == 200
    for url in ("new/", "import/", f"{vip.pk}/edit/", f"{vip.pk}/members/batch/"):
        assert client.get(f"/lists/client-groups/{url}").status_code == 403
    for url in (f"{vip.pk}/delete/", f"{vip.pk}/members/add/", f"{vip.pk}/members/remove/"):
        assert client.post(f"/lists/client-groups/{url}", {"code": "C2"}).status_code == 403
    assert client.get("/imports/lists.client_group_members/template.xlsx").status_code == 403
    assert not ChangeRequest.objects.filter(status="pending").exists()


def test_the_api_reads_and_submits(api, users, vip):
    # Arrange
    officer, auditor = api("officer"), api("auditor")

    # Act
    listed = auditor.get("/api/v1/margin/client-groups", {"member": "C1"})
    read = auditor.get("/api/v1/margin/client-groups/VIP")
    created = officer.post(
        "/api/v1/margin/client-groups",
        {"name": "R", "business_type": "report", "members": ["C2"]},
        content_type="application/json",
    )
    bad = officer.post(
        "/api/v1/margin/client-groups",
        {"name": "Q", "business_type": "fees"},
        content_type="application/json",
    )
    delete = officer.post(
        "/api/v1/margin/client-groups/VIP", {"delete": True}, content_type="application/json"
    )
    refused = auditor.post(
        "/api/v1/margin/client-groups/VIP", {"note": "x"}, content_type="application/json"
    )

    # Assert
    assert [g["name"] for g in listed.json()] == ["VIP"]
    assert read.json()["business_type"] == "margin" and read.json()["members"] == ["C1"]
    assert created.status_code == 201 and created.json()["after"]["members"] == ["C2"]
    assert bad.status_code == 422 and bad.json()["field"] == "business_type"
    assert delete.status_code == 201 and delete.json()["after"] == {"deleted": True}
    assert refused.status_code == 403
