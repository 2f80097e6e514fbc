"""PL-12 stock groups: create / rename / members / delete through approval; the pages (list,
detail with members and the rules using the group, single and batch members, upload on the
shared import flow) and the API."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db

FLOW = "margin.stock_group"


def submit(users, payload, target=None):
    return services.submit(flow=FLOW, target=target, payload=payload, maker=users["officer"])


def approve(users, change):
    services.approve(request_id=change.pk, user=users["approver"])
    change.refresh_from_db()
    assert change.status == "applied", change.failure
    return change


@pytest.fixture
def blue(users, book):
    from riskdesk.margin.models import StockGroup

    approve(users, submit(users, {"name": "HK-BLUE", "note": "blue chips", "members": ["700.HK"]}))
    return StockGroup.objects.get(name="HK-BLUE")


def test_create_rename_and_set_members_through_approval(users, book):
    # Arrange
    from riskdesk.margin.models import StockGroup

    # Act
    change = submit(users, {"name": " HK-BLUE ", "members": "700.HK\nAAPL.US, 700.HK"})

    # Assert: pasted codes split, deduplicated, sorted; nothing exists until approved
    assert change.target_key == "stock-group:HK-BLUE"
    assert change.payload == {"name": "HK-BLUE", "note": "", "members": ["700.HK", "AAPL.US"]}
    assert not StockGroup.objects.exists()
    approve(users, change)
    group = StockGroup.objects.get()
    assert sorted(group.members.values_list("instrument__code", flat=True)) == ["700.HK", "AAPL.US"]

    # Act: rename and drop a member in one request
    edit = approve(users, submit(users, {"name": "BLUE", "members": ["AAPL.US"]}, group))

    # Assert
    group.refresh_from_db()
    assert edit.target_key == f"stock-group#{group.pk}"
    assert edit.before == {"name": "HK-BLUE", "note": "", "members": ["700.HK", "AAPL.US"]}
    assert group.name == "BLUE"
    assert list(group.members.values_list("instrument__code", flat=True)) == ["AAPL.US"]


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "A#1"}, "name", "must not contain #"),
        ({"name": "HK-BLUE"}, "name", "already exists"),
        ({"name": "N", "members": ["700.HK", "NOPE.HK"]}, "members", "no stock NOPE.HK"),
        ({"name": "N", "members": ["AAPL 261218C200"]}, "members", "no stock AAPL 261218C200"),
        ({"name": "N", "business_type": "margin"}, "business_type", "unknown field"),
        ({"name": "N", "delete": True}, "delete", "only an existing group"),
    ],
)
def test_a_bad_group_is_refused_naming_the_field(users, blue, payload, field, reason):
    with pytest.raises(ValidationError) as caught:
        submit(users, payload)
    got_field, messages = next(iter(caught.value.message_dict.items()))
    assert got_field == field and reason in messages[0]


def test_a_stale_membership_change_fails_whole(users, blue):
    # Arrange: two views of the same group; one change applied first
    first = submit(users, {"members": ["700.HK", "AAPL.US"]}, blue)
    services.withdraw(request_id=first.pk, user=users["officer"])
    second = submit(users, {"note": "x"}, blue)
    with seeding("race"):
        blue.members.get().delete()

    # Act
    services.approve(request_id=second.pk, user=users["approver"])
    second.refresh_from_db()

    # Assert
    assert second.status == "failed" and "changed since" in second.failure


def test_the_pages_show_members_rules_and_submit_changes(client, users, book, blue):
    # Arrange
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        used = ClientMarginRule.objects.create(
            side="long",
            client=book["client"],
            stock_group=blue,
            im="0.5",
            mcm="0.4",
            mm="0.3",
            fm="0.2",
        )
    client.force_login(users["officer"])

    # Act
    listing = client.get("/margin/stock-groups/")
    detail = client.get(f"/margin/stock-groups/{blue.pk}/")

    # Assert
    row = listing.context["result"]["rows"][0]
    assert (row["name"], row["member_count"], row["rule_count"]) == ("HK-BLUE", 1, 1)
    assert b'data-code="700.HK"' in detail.content
    assert f"/margin/client-rules/{used.pk}/".encode() in detail.content
    assert b'data-testid="history"' in detail.content

    # Act: add one member → one request; the page shows it pending
    add = client.post(f"/margin/stock-groups/{blue.pk}/members/add/", {"code": "AAPL.US"})
    change = ChangeRequest.objects.get(status="pending")
    pending = client.get(f"/margin/stock-groups/{blue.pk}/")

    # Assert
    assert add.url == f"/approvals/requests/{change.pk}/"
    assert change.payload["members"] == ["700.HK", "AAPL.US"]
    assert f"request #{change.pk}".encode() in pending.content
    assert b'data-testid="member-add"' not in pending.content

    # Act: delete while a rule uses it → refused as a message, nothing submitted
    services.withdraw(request_id=change.pk, user=users["officer"])
    delete = client.post(f"/margin/stock-groups/{blue.pk}/delete/", follow=True)

    # Assert
    assert f"#{used.pk}".encode() in delete.content
    assert ChangeRequest.objects.filter(status="pending").count() == 0


def test_batch_paste_is_one_request(client, users, blue):
    # Arrange
    client.force_login(users["officer"])

    # Act
    bad = client.post(f"/margin/stock-groups/{blue.pk}/members/batch/", {"codes": "AAPL.US\nXX.HK"})
    good = client.post(
        f"/margin/stock-groups/{blue.pk}/members/batch/", {"codes": "AAPL.US\n700.HK", "note": "n"}
    )

    # Assert
    assert bad.status_code == 200 and b"no stock XX.HK" in bad.content
    change = ChangeRequest.objects.get(status="pending")
    assert good.url == f"/approvals/requests/{change.pk}/"
    assert change.payload["members"] == ["700.HK", "AAPL.US"]


def test_new_edit_forms_and_upload_on_the_shared_import(client, users, blue):
    # Arrange
    client.force_login(users["officer"])

    # Act
    new = client.post("/margin/stock-groups/new/", {"name": "US", "note": "", "members": "AAPL.US"})
    upload = client.post(
        "/margin/stock-groups/import/",
        {
            "file": SimpleUploadedFile(
                "m.csv", b"group,stock\nHK-BLUE,AAPL.US\n", content_type="text/csv"
            )
        },
    )
    confirm = client.post(upload.url, {"action": "confirm"})

    # Assert
    requests = list(ChangeRequest.objects.filter(status="pending").order_by("id"))
    assert new.url == f"/approvals/requests/{requests[0].pk}/"
    assert requests[0].payload == {"name": "US", "note": "", "members": ["AAPL.US"]}
    assert confirm.status_code == 302 and len(requests) == 2
    assert requests[1].target_key == f"stock-group#{blue.pk}"
    assert requests[1].payload["members"] == ["700.HK", "AAPL.US"]

    # Act: an edit while the upload's request waits is refused on the form
    edit = client.post(f"/margin/stock-groups/{blue.pk}/edit/", {"name": "HK", "note": ""})

    # Assert
    assert edit.status_code == 200 and b"already proposes a change" in edit.content


def test_an_upload_naming_an_unknown_group_or_member_submits_nothing(client, users, blue):
    # Arrange
    client.force_login(users["officer"])
    content = b"group,stock\nHK-BLUE,700.HK\nNOPE,AAPL.US\nHK-BLUE,ZZ.US\n"

    # Act
    upload = client.post(
        "/margin/stock-groups/import/", {"file": SimpleUploadedFile("m.csv", content)}
    )
    preview = client.get(upload.url)
    client.post(upload.url, {"action": "confirm"})

    # Assert
    assert [r["errors"] for r in preview.context["rows"]] == [
        ["700.HK is already in HK-BLUE"],
        ["group: no group NOPE"],
        ["stock: no stock ZZ.US"],
    ]
    assert not ChangeRequest.objects.filter(status="pending").exists()


def test_the_auditor_reads_but_may_not_change(client, users, blue):
    # Arrange
    client.force_login(users["auditor"])

    # Act / Assert
    assert client.get("/margin/stock-groups/").status_code == 200
    detail = client.get(f"/margin/stock-groups/{blue.pk}/")
    assert detail.status_code == 200 and b'data-testid="edit"' not in detail.content
    for url in ("new/", "import/", f"{blue.pk}/edit/", f"{blue.pk}/members/batch/"):
        assert client.get(f"/margin/stock-groups/{url}").status_code == 403
    for url in (f"{blue.pk}/delete/", f"{blue.pk}/members/add/", f"{blue.pk}/members/remove/"):
        assert client.post(f"/margin/stock-groups/{url}", {"code": "700.HK"}).status_code == 403
    assert not ChangeRequest.objects.filter(status="pending").exists()


def test_the_api_reads_and_submits(api, users, blue):
    # Arrange
    officer = api("officer")

    # Act
    listed = officer.get("/api/v1/margin/stock-groups", {"member": "700.HK"})
    read = officer.get("/api/v1/margin/stock-groups/HK-BLUE")
    created = officer.post(
        "/api/v1/margin/stock-groups",
        {"name": "US", "members": ["AAPL.US"]},
        content_type="application/json",
    )
    bad = officer.post(
        "/api/v1/margin/stock-groups/HK-BLUE",
        {"members": ["NOPE"]},
        content_type="application/json",
    )
    members = officer.post(
        "/api/v1/margin/stock-groups/HK-BLUE",
        {"members": ["AAPL.US"], "request_note": "swap"},
        content_type="application/json",
    )

    # Assert
    assert [g["name"] for g in listed.json()] == ["HK-BLUE"]
    assert read.json()["members"] == ["700.HK"] and read.json()["active_rules"] == []
    assert created.status_code == 201 and created.json()["target_key"] == "stock-group:US"
    assert bad.status_code == 422 and bad.json() == {
        "field": "members",
        "reason": "no stock NOPE",
        "request_id": None,
    }
    assert members.status_code == 201 and members.json()["note"] == "swap"
    assert (
        officer.get("/api/v1/margin/stock-groups/HK-BLUE").json()["pending_request"]
        == members.json()["id"]
    )
    assert officer.get("/api/v1/margin/stock-groups/NOPE").status_code == 404
