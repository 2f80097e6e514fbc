"""MR-5 pages: the long and short lists (shared list page), a rule with its pending change and
change records, new / edit / invalidate forms that submit for approval, the batch import on
the shared import flow, and who may do what."""

import io

import pytest
from openpyxl import load_workbook

from riskdesk.approvals import services
from riskdesk.approvals.governed import seeding
from riskdesk.approvals.models import ChangeRequest

pytestmark = pytest.mark.django_db

OK = {"im": "0.5", "mcm": "0.4", "mm": "0.3", "fm": "0.2"}


@pytest.fixture
def rules(users, book):
    """A long rule C1 × 700.HK (IM 0.5) and a short rule C1 × AAPL.US (forbidden, pool 100/500)."""
    from riskdesk.margin.models import ClientMarginRule

    with seeding("test"):
        long_rule = ClientMarginRule.objects.create(
            side="long", client=book["client"], instrument=book["tencent"], **OK
        )
        short_rule = ClientMarginRule.objects.create(
            side="short",
            client=book["client"],
            instrument=book["apple"],
            shortable="forbidden",
            auto_close_qty=100,
            auto_restore_qty=500,
            **OK,
        )
    return {
        "long": ClientMarginRule.objects.get(pk=long_rule.pk),
        "short": ClientMarginRule.objects.get(pk=short_rule.pk),
    }


def codes(response, key):
    return [r[key] for r in response.context["result"]["rows"]]


def test_the_lists_are_scoped_by_side_and_filter(client, users, rules):
    # Arrange
    client.force_login(users["auditor"])

    # Act
    long_page = client.get("/margin/client-long/")
    short_page = client.get("/margin/client-short/")
    filtered = client.get("/margin/client-long/", {"stock": "AAPL"})

    # Assert
    assert long_page.status_code == 200 and short_page.status_code == 200
    assert codes(long_page, "instrument__code") == ["700.HK"]
    assert codes(short_page, "instrument__code") == ["AAPL.US"]
    assert codes(short_page, "shortable") == ["forbidden"]
    assert (
        b"Auto-close quantity" in short_page.content
        and b"Auto-close quantity" not in long_page.content
    )
    assert codes(filtered, "instrument__code") == []
    assert (
        b"New" not in long_page.content.split(b'class="toolbar"')[1][:400]
    )  # the auditor has no actions


def test_the_officer_sees_new_and_import_and_exports(client, users, rules):
    # Arrange
    client.force_login(users["officer"])

    # Act
    page = client.get("/margin/client-short/")
    export = client.get("/margin/client-short/export.xlsx")

    # Assert
    assert b"/margin/client-rules/new/short/" in page.content
    assert b"/margin/client-rules/import/" in page.content
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    header, row = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert header[:5] == ["Rule", "Client", "Client group", "Stock", "Stock group"]
    assert row[0] == rules["short"].pk and row[3] == "AAPL.US"


def test_a_rule_page_shows_its_figures_history_and_pending_change(client, users, rules):
    # Arrange
    rule = rules["short"]
    client.force_login(users["officer"])

    # Act
    before = client.get(f"/margin/client-rules/{rule.pk}/")
    change = services.submit(
        flow="margin.client_rule", target=rule, payload={"im": "0.6"}, maker=users["officer"]
    )
    after = client.get(f"/margin/client-rules/{rule.pk}/")

    # Assert
    assert before.status_code == 200
    assert b'data-testid="edit"' in before.content and b'data-testid="invalidate"' in before.content
    assert (
        b'data-testid="history"' in before.content and b"test" in before.content
    )  # the seed reason
    assert b"Short selling forbidden" in before.content
    assert f"request #{change.pk}".encode() in after.content
    assert b'data-testid="edit"' not in after.content


def test_new_long_rule_form_submits_and_redirects_to_the_request(client, users, book):
    # Arrange
    client.force_login(users["officer"])

    # Act
    response = client.post(
        "/margin/client-rules/new/long/", {"client": "C1", "stock": "700.HK", **OK, "note": "VIP"}
    )

    # Assert
    change = ChangeRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/approvals/requests/{change.pk}/"
    assert (
        change.flow == "margin.client_rule"
        and change.payload["side"] == "long"
        and change.note == "VIP"
    )


def test_new_rule_form_shows_the_factor_at_fault(client, users, book):
    # Arrange
    client.force_login(users["officer"])

    # Act
    response = client.post(
        "/margin/client-rules/new/short/",
        {"client": "C1", "stock": "700.HK", **OK, "fm": "0.35", "shortable": "allowed"},
    )

    # Assert
    assert response.status_code == 200
    assert response.context["form"].errors["fm"][0].startswith("must not exceed mm")
    assert not ChangeRequest.objects.exists()


def test_edit_and_invalidate_forms_submit_for_approval(client, users, rules):
    # Arrange
    rule = rules["short"]
    client.force_login(users["officer"])

    # Act
    form = client.get(f"/margin/client-rules/{rule.pk}/edit/")
    edit = client.post(
        f"/margin/client-rules/{rule.pk}/edit/",
        {
            **OK,
            "im": "0.55",
            "shortable": "allowed",
            "auto_close_qty": "",
            "auto_restore_qty": "500",
        },
    )

    # Assert
    assert form.status_code == 200
    change = ChangeRequest.objects.get()
    assert edit.url == f"/approvals/requests/{change.pk}/"
    assert change.payload == {
        "im": "0.5500",
        "mcm": "0.4000",
        "mm": "0.3000",
        "fm": "0.2000",
        "shortable": "allowed",
        "auto_close_qty": None,
        "auto_restore_qty": 500,
        "status": "active",
    }

    # Act: invalidate while the edit waits → refused on the form
    refused = client.post(f"/margin/client-rules/{rule.pk}/invalidate/", {"note": "client left"})

    # Assert
    assert refused.status_code == 200 and b"already proposes a change" in refused.content

    # Act: withdraw the edit, then invalidate
    services.withdraw(request_id=change.pk, user=users["officer"])
    client.post(f"/margin/client-rules/{rule.pk}/invalidate/", {"note": "client left"})
    services.approve(request_id=ChangeRequest.objects.latest("id").pk, user=users["approver"])
    rule.refresh_from_db()

    # Assert
    assert rule.status == "invalid"
    page = client.get(f"/margin/client-rules/{rule.pk}/")
    assert b'data-testid="edit"' not in page.content
    assert client.get(f"/margin/client-rules/{rule.pk}/edit/").status_code == 302


def test_the_import_goes_through_the_shared_flow_as_one_request(client, users, book):
    # Arrange
    client.force_login(users["officer"])
    csv = (
        b"side,client,client_group,stock,stock_group,im,mcm,mm,fm,shortable,auto_close_qty,auto_restore_qty\n"
        b"long,C1,,700.HK,,0.5,0.4,0.3,0.2,,,\n"
        b"short,C1,,700.HK,,0.6,0.5,0.4,0.3,forbidden,100,200\n"
    )

    # Act
    template = client.get("/imports/margin.client_rules/template.xlsx")
    upload = client.post("/margin/client-rules/import/", {"file": _file("rules.csv", csv)})
    preview = client.get(upload.url)
    confirm = client.post(upload.url, {"action": "confirm"})

    # Assert
    assert template.status_code == 200
    assert preview.context["bad"] == 0
    change = ChangeRequest.objects.get()
    assert confirm.url == f"/approvals/requests/{change.pk}/"
    assert change.flow == "margin.client_rule_batch"
    assert [r["side"] for r in change.payload["rows"]] == ["long", "short"]


def test_an_import_with_a_bad_row_shows_it_and_submits_nothing(client, users, book):
    # Arrange
    client.force_login(users["officer"])
    csv = b"side,client,stock,im,mcm,mm,fm\nlong,C1,700.HK,0.5,0.4,0.3,0.2\nlong,C2,700.HK,0.5,0.4,0.3,0.2\n"

    # Act
    upload = client.post("/margin/client-rules/import/", {"file": _file("rules.csv", csv)})
    preview = client.get(upload.url)
    client.post(upload.url, {"action": "confirm"})

    # Assert
    assert preview.context["bad"] == 1
    assert preview.context["rows"][1]["errors"] == ["client: no client C2"]
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/margin/client-rules/new/long/",
        "/margin/client-rules/new/short/",
        "/margin/client-rules/{pk}/edit/",
        "/margin/client-rules/{pk}/invalidate/",
        "/margin/client-rules/import/",
    ],
)
def test_the_auditor_may_not_open_any_form(client, users, rules, url):
    # Arrange
    client.force_login(users["auditor"])
    url = url.format(pk=rules["long"].pk)

    # Act / Assert
    assert client.get(url).status_code == 403
    assert client.post(url, {"client": "C1", "stock": "AAPL.US", **OK}).status_code == 403
    assert not ChangeRequest.objects.exists()


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_an_import_refused_as_a_whole_at_confirmation_submits_nothing(client, users, book):
    # Arrange: a file previewed clean, then the same rule is proposed before confirmation
    client.force_login(users["officer"])
    csv = b"side,client,stock,im,mcm,mm,fm\nlong,C1,700.HK,0.5,0.4,0.3,0.2\n"
    upload = client.post("/margin/client-rules/import/", {"file": _file("rules.csv", csv)})
    single = services.submit(
        flow="margin.client_rule",
        target=None,
        payload={"side": "long", "client": "C1", "stock": "700.HK", **OK},
        maker=users["officer"],
    )

    # Act
    confirm = client.post(upload.url, {"action": "confirm"}, follow=True)

    # Assert: the row is marked, and the only request is the single one
    assert f"request #{single.pk} already proposes this rule".encode() in confirm.content
    assert list(ChangeRequest.objects.values_list("pk", flat=True)) == [single.pk]
