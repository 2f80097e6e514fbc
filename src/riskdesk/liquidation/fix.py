"""FIX 4.4 order gateway (MC-10): liquidation orders to the order-management system (OMS).

The web request never opens a socket: ``FixGateway.place`` and ``cancel`` do nothing, because
the order row *is* the queue —

- ``status=pending`` with ``sent_at`` empty: a NewOrderSingle to send;
- ``status=cancel_pending`` with ``cancel_sent_at`` empty: an OrderCancelRequest to send (an
  order cancelled before it ever left is cancelled here, without asking the OMS).

The ``riskdesk fixgateway`` process (``run_forever``) holds one initiator session over TCP to
RISKDESK_FIX_HOST:RISKDESK_FIX_PORT, sends what is queued — marking the row in the transaction
that holds its lock while the message is written — and gives every execution report to
``services.apply_report(report, gateway="fix")``: the only way a fill reaches the book, once per
ExecID (book event key ``liq:fix:<ExecID>``) however often it is delivered.

Session (standard header 8=FIX.4.4, 35 MsgType, 49 SenderCompID = RISKDESK_FIX_SENDER,
56 TargetCompID = RISKDESK_FIX_TARGET, 34 MsgSeqNum, 52 SendingTime):

- A Logon: 98=0 EncryptMethod none, 108 HeartBtInt, 141=Y ResetSeqNumFlag. Every logon resets
  both sequence numbers to 1; no message store is kept between connections.
- 0 Heartbeat after HeartBtInt seconds without sending; echoes 112 TestReqID.
- 1 TestRequest after HeartBtInt (+20 %) without hearing from the OMS; still silent one more
  HeartBtInt later → the connection is dropped and made again.
- 2 ResendRequest → SequenceReset-GapFill (35=4, 123=Y, 36 NewSeqNo): nothing is re-sent.
- 4 SequenceReset → the next incoming number is 36 NewSeqNo.
- 5 Logout → answered, then reconnect (backoff 1 s doubling to 30 s). ``stop()`` logs out.
- Incoming 34 is checked: a gap is logged, not requested again (reports missed while the
  line was down are not recovered; see docs/operations.md); a number too low is logged.
- After each logon, orders sent but never acknowledged (still ``pending``) and cancels never
  answered are sent again with 97=Y PossResend: the OMS ignores a ClOrdID it already has.

Application messages:

- D NewOrderSingle: 11 ClOrdID = order id, 1 Account = account number, 21 HandlInst=1,
  55 Symbol = instrument code, 54 Side 1 buy / 2 sell, 60 TransactTime, 38 OrderQty,
  40 OrdType=1 market, 59 TimeInForce=0 day. Market, because a liquidation must close the
  position; the reference price is the plan's, not a limit.
- F OrderCancelRequest: 41 OrigClOrdID = order id, 11 ClOrdID = order id + "-C<n>" (n = 1 + the
  cancels refused so far), 55, 54, 38, 60. A cancel answered with a refusal clears
  ``cancel_sent_at``, so the next cancel of the same order goes out.
- 8 ExecutionReport, by 150 ExecType: 0 New → "new"; F Trade → "trade" with 32 LastQty and
  31 LastPx (Decimal from the wire text, never float); 4 Canceled and C Expired → "cancelled";
  8 Rejected → "rejected" with 58 Text. The order is 41 OrigClOrdID when present, else 11
  (without a "-C<n>" suffix); 17 ExecID is the idempotency key. Other ExecTypes (A pending
  new, 6 pending cancel, I order status, …) are logged only; G/H (trade correct/cancel) as
  errors, to be corrected by hand.
- 9 OrderCancelReject → "cancel_rejected" for the order in 41, ExecID "9-<11>" (the cancel's own
  ClOrdID, so a repeat is a no-op); the service reads it as "cancel refused, still working".
- 3 Reject / j BusinessMessageReject of one of our D (45 RefSeqNum) → "rejected", of one of our
  F → "cancel_rejected"; ExecID "3-<ClOrdID>" / "j-<ClOrdID>".

A report for an unknown order, or one the service refuses, is logged and skipped; a database
error keeps the report in memory and applies it again on the next step.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import signal
import socket
import threading
import time
from collections import Counter
from decimal import Decimal, InvalidOperation

import simplefix
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.utils import timezone

from riskdesk.liquidation.gateways import Report
from riskdesk.liquidation.models import LiquidationOrder

log = logging.getLogger(__name__)

BEGIN_STRING = "FIX.4.4"
EXEC_TYPES = {"0": "new", "F": "trade", "4": "cancelled", "C": "cancelled", "8": "rejected"}
SIDES = {"buy": "1", "sell": "2"}
CANCEL_SUFFIX = re.compile(r"-C\d+$")
Status = LiquidationOrder.Status


class FixSessionError(Exception):
    """The session is unusable (closed, logged out, silent, refused): reconnect."""


class FixGateway:
    """The ``OrderGateway`` of RISKDESK_ORDER_GATEWAY=fix: the row is the queue, so placing and
    cancelling only store (done by the service); the ``fixgateway`` process sends."""

    name = "fix"

    def place(self, order) -> None:
        """Nothing to do: a pending order with no ``sent_at`` is picked up by the session."""

    def cancel(self, order) -> None:
        """Nothing to do: a cancel_pending order with no ``cancel_sent_at`` is picked up."""


def _text(msg, tag: int) -> str | None:
    value = msg.get(tag)
    return None if value is None else value.decode("utf-8", "replace")


def _int(value: str | None) -> int | None:
    try:
        number = Decimal(value)
    except (TypeError, InvalidOperation):
        return None
    return int(number) if number == number.to_integral_value() else None


class FixClient:
    """One FIX 4.4 initiator session. Drive it with ``connect`` / ``send_pending`` / ``pump`` /
    ``heartbeat`` (or ``step``, or ``run_once`` which also reconnects with backoff)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        sender: str | None = None,
        target: str | None = None,
        heartbeat: int | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
    ):
        self.host = host or settings.RISKDESK_FIX_HOST
        self.port = port or settings.RISKDESK_FIX_PORT
        self.sender = sender or settings.RISKDESK_FIX_SENDER
        self.target = target or settings.RISKDESK_FIX_TARGET
        self.heartbeat_interval = heartbeat or settings.RISKDESK_FIX_HEARTBEAT
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.counts: Counter[str] = Counter()  # applied, duplicate, refused, logons, ...
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._backoff = min_backoff
        self._next_attempt = 0.0
        self._retry: list[tuple[Report, bool]] = []  # reports a database error kept back
        self._reset()

    def _reset(self) -> None:
        self._parser = simplefix.FixParser()
        self._out_seq = self._in_seq = 1
        self._sent: dict[int, tuple[str, str]] = {}  # our seq → (order id, ClOrdID) of D / F
        self._last_in = self._last_out = time.monotonic()
        self._test_request: tuple[str, float] | None = None
        self.logged_on = False
        self._logging_out = False

    @property
    def connected(self) -> bool:
        return self._sock is not None and self.logged_on

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    # --- session ---------------------------------------------------------------------------

    def connect(self, timeout: float = 5.0) -> None:
        """Open the TCP connection and log on; FixSessionError/OSError when that fails."""
        self.close()
        self._reset()
        self._sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send("A", [(98, 0), (108, self.heartbeat_interval), (141, "Y")])
        deadline = time.monotonic() + timeout
        while not self.logged_on:
            if self._sock is None or time.monotonic() >= deadline:
                self.close()
                raise FixSessionError("no Logon answer from the OMS")
            self.pump(deadline - time.monotonic())
        self.counts["logons"] += 1
        self._backoff = self.min_backoff
        log.info(
            "FIX session %s→%s logged on at %s:%s", self.sender, self.target, self.host, self.port
        )
        self._resend_unanswered()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self.logged_on = False

    def logout(self, timeout: float = 2.0) -> None:
        """Send Logout, wait (briefly) for the OMS's, and close."""
        if self.connected:
            try:
                self._logging_out = True
                self._send("5", [])
                deadline = time.monotonic() + timeout
                while self._sock is not None and time.monotonic() < deadline:
                    self.pump(deadline - time.monotonic())
            except (OSError, FixSessionError) as exc:
                log.info("FIX logout: %s", exc)
        self.close()

    def stop(self) -> None:
        """Ask ``run_forever`` to log out and return (safe from another thread or a signal)."""
        self._stopping.set()

    def heartbeat(self) -> None:
        """Send a Heartbeat when we have been quiet, a TestRequest when the OMS has."""
        now, interval = time.monotonic(), self.heartbeat_interval
        if now - self._last_in > interval * 1.2:
            if self._test_request is None:
                ident = f"TEST-{self._out_seq}"
                self._send("1", [(112, ident)])
                self._test_request = (ident, now)
            elif now - self._test_request[1] > interval:
                raise FixSessionError("the OMS does not answer TestRequest")
        if now - self._last_out >= interval:
            self._send("0", [])

    def _send(self, msg_type: str, fields, *, header=()) -> int:
        if self._sock is None:
            raise FixSessionError("not connected")
        msg = simplefix.FixMessage()
        msg.append_pair(8, BEGIN_STRING, header=True)
        msg.append_pair(35, msg_type, header=True)
        msg.append_pair(49, self.sender, header=True)
        msg.append_pair(56, self.target, header=True)
        msg.append_pair(34, self._out_seq, header=True)
        msg.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in header:
            msg.append_pair(tag, value, header=True)
        for tag, value in fields:
            if tag == 60:
                msg.append_utc_timestamp(60, precision=3)
            else:
                msg.append_pair(tag, value)
        self._sock.sendall(msg.encode())
        seq, self._out_seq = self._out_seq, self._out_seq + 1
        self._last_out = time.monotonic()
        return seq

    def pump(self, timeout: float = 0.0) -> int:
        """Handle what the OMS sends within ``timeout`` seconds (all of it once something came);
        returns how many messages were handled."""
        deadline = time.monotonic() + timeout
        handled = 0
        while True:
            while self._sock is not None and (msg := self._parser.get_message()) is not None:
                self._handle(msg)
                handled += 1
            wait = 0.0 if handled else max(0.0, deadline - time.monotonic())
            if not self._receive(wait):
                return handled

    def _receive(self, wait: float) -> bool:
        if self._sock is None:
            return False
        readable, _, _ = select.select([self._sock], [], [], wait)
        if not readable:
            return False
        data = self._sock.recv(65536)
        if not data:
            self.close()
            if self._logging_out:
                return False
            raise FixSessionError("the OMS closed the connection")
        self._parser.append_buffer(data)
        return True

    def _check_sequence(self, msg, msg_type: str) -> None:
        seq = _int(_text(msg, 34))
        if seq is None:
            log.error("FIX %s without MsgSeqNum(34)", msg_type)
            return
        if seq > self._in_seq:
            log.warning(
                "FIX sequence gap: expected %s, got %s (not requested again)", self._in_seq, seq
            )
        elif seq < self._in_seq and _text(msg, 43) != "Y":
            log.error("FIX MsgSeqNum %s below the expected %s", seq, self._in_seq)
        self._in_seq = max(self._in_seq, seq + 1)

    def _handle(self, msg) -> None:
        msg_type = (msg.message_type or b"").decode()
        self._last_in = time.monotonic()
        self._test_request = None  # any message proves the OMS is there
        if not self.logged_on and msg_type not in ("A", "5"):
            self.close()
            raise FixSessionError(f"expected Logon, got 35={msg_type}")
        self._check_sequence(msg, msg_type)
        if msg_type == "A":
            self.logged_on = True
        elif msg_type == "1":
            self._send("0", [(112, _text(msg, 112) or "")])
        elif msg_type == "2":
            # No message store: one GapFill from BeginSeqNo(7) over everything asked for.
            next_seq, begin = self._out_seq, _int(_text(msg, 7)) or 0
            if 0 < begin < next_seq:
                self._out_seq = begin
                sent_at = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())
                self._send("4", [(123, "Y"), (36, next_seq)], header=[(43, "Y"), (122, sent_at)])
                self._out_seq = next_seq
        elif msg_type == "4":
            self._in_seq = _int(_text(msg, 36)) or self._in_seq
        elif msg_type == "5":
            text = _text(msg, 58) or ""
            if self._logging_out:
                self.close()
                return
            try:
                self._send("5", [])
            finally:
                self.close()
            raise FixSessionError(f"logged out by the OMS {text}".strip())
        elif msg_type == "8":
            self._execution_report(msg)
        elif msg_type == "9":
            self._cancel_reject(msg)
        elif msg_type in ("3", "j"):
            self._reject(msg, msg_type)
        elif msg_type != "0":
            log.info("FIX 35=%s ignored", msg_type)

    # --- application messages ----------------------------------------------------------------

    def _execution_report(self, msg) -> None:
        exec_type = _text(msg, 150)
        kind = EXEC_TYPES.get(exec_type or "")
        order_id = CANCEL_SUFFIX.sub("", _text(msg, 41) or _text(msg, 11) or "")
        exec_id = _text(msg, 17)
        if kind is None or not exec_id or not order_id:
            # G/H (trade correct/cancel) change a booked fill: the back office corrects it.
            level = logging.ERROR if exec_type in ("G", "H") else logging.INFO
            log.log(
                level,
                "FIX ExecutionReport 150=%s ExecID %s for %s not applied",
                exec_type,
                exec_id,
                order_id,
            )
            return
        quantity, price = 0, None
        if kind == "trade":
            quantity = _int(_text(msg, 32)) or 0
            try:
                price = Decimal(_text(msg, 31) or "")
            except InvalidOperation:
                price = None
        report = Report(order_id, exec_id, kind, quantity, price, _text(msg, 58) or "")
        self._apply(report)

    def _cancel_reject(self, msg) -> None:
        order_id = CANCEL_SUFFIX.sub("", _text(msg, 41) or _text(msg, 11) or "")
        ref = _text(msg, 11) or _text(msg, 34)
        text = _text(msg, 58) or "cancel refused by the OMS"
        self._apply(
            Report(order_id, f"9-{ref}", "cancel_rejected", text=text), cancel_answered=True
        )

    def _reject(self, msg, msg_type: str) -> None:
        ref = _int(_text(msg, 45))
        text = _text(msg, 58) or f"35={msg_type} from the OMS"
        if ref not in self._sent:
            log.error("FIX 35=%s of our message %s: %s", msg_type, ref, text)
            return
        order_id, cl_ord_id = self._sent[ref]
        kind = "cancel_rejected" if cl_ord_id != order_id else "rejected"
        report = Report(order_id, f"{msg_type}-{cl_ord_id}", kind, text=text)
        self._apply(report, cancel_answered=cl_ord_id != order_id)

    def _apply(self, report: Report, *, cancel_answered: bool = False) -> None:
        from riskdesk.liquidation.services import LiquidationError, apply_report

        try:
            with transaction.atomic():
                applied = apply_report(report, gateway=FixGateway.name)
                if applied and cancel_answered:
                    # The cancel was answered: a later cancel of this order must go out again.
                    LiquidationOrder.objects.filter(client_order_id=report.client_order_id).update(
                        cancel_sent_at=None
                    )
        except LiquidationError as exc:
            self.counts["refused"] += 1
            log.error("FIX report %s %s not applied: %s", report.exec_id, report.exec_type, exc)
        except DatabaseError:
            log.exception("FIX report %s kept to apply again", report.exec_id)
            self._retry.append((report, cancel_answered))
        else:
            self.counts["applied" if applied else "duplicate"] += 1

    # --- the queue ------------------------------------------------------------------------------

    def send_pending(self) -> int:
        """Send queued orders (D) then queued cancels (F); returns how many went out."""
        mine = LiquidationOrder.objects.filter(gateway=FixGateway.name)
        new = mine.filter(status__in=(Status.PENDING, Status.CANCEL_PENDING), sent_at=None)
        sent = sum(self._send_order(pk) for pk in new.order_by("id").values_list("pk", flat=True))
        cancels = mine.filter(status=Status.CANCEL_PENDING, cancel_sent_at=None).exclude(
            sent_at=None
        )
        sent += sum(
            self._send_cancel(pk) for pk in cancels.order_by("id").values_list("pk", flat=True)
        )
        return sent

    def _resend_unanswered(self) -> None:
        """After a logon: what was sent on an earlier connection and never answered."""
        mine = LiquidationOrder.objects.filter(gateway=FixGateway.name)
        for pk in (
            mine.filter(status=Status.PENDING).exclude(sent_at=None).values_list("pk", flat=True)
        ):
            self.counts["resent"] += self._send_order(pk, again=True)
        cancels = mine.filter(status=Status.CANCEL_PENDING).exclude(cancel_sent_at=None)
        for pk in cancels.values_list("pk", flat=True):
            self.counts["resent"] += self._send_cancel(pk, again=True)

    def _send_order(self, pk: int, *, again: bool = False) -> int:
        with transaction.atomic():
            order = LiquidationOrder.objects.select_for_update().get(pk=pk)
            if (order.sent_at is not None) != again:
                return 0
            if order.status == Status.CANCEL_PENDING and not again:
                ref = order.client_order_id
                self._apply(
                    Report(ref, f"{ref}-unsent", "cancelled", text="cancelled before it was sent")
                )
                return 0
            if order.status != Status.PENDING:
                return 0
            seq = self._send(
                "D",
                [
                    (11, order.client_order_id),
                    (1, order.account.number),
                    (21, 1),
                    (55, order.instrument.code),
                    (54, SIDES[order.side]),
                    (60, None),
                    (38, order.quantity),
                    (40, 1),
                    (59, 0),
                ],
                header=[(97, "Y")] if again else (),
            )
            self._sent[seq] = (order.client_order_id, order.client_order_id)
            order.sent_at = timezone.now()
            order.save(update_fields=["sent_at"])
        return 1

    def _send_cancel(self, pk: int, *, again: bool = False) -> int:
        with transaction.atomic():
            order = LiquidationOrder.objects.select_for_update().get(pk=pk)
            if order.status != Status.CANCEL_PENDING or (order.cancel_sent_at is not None) != again:
                return 0
            ref = order.client_order_id
            cl_ord_id = f"{ref}-C{order.executions.filter(exec_type='cancel_rejected').count() + 1}"
            seq = self._send(
                "F",
                [
                    (41, ref),
                    (11, cl_ord_id),
                    (55, order.instrument.code),
                    (54, SIDES[order.side]),
                    (38, order.quantity),
                    (60, None),
                ],
                header=[(97, "Y")] if again else (),
            )
            self._sent[seq] = (ref, cl_ord_id)
            order.cancel_sent_at = timezone.now()
            order.save(update_fields=["cancel_sent_at"])
        return 1

    # --- driving it ---------------------------------------------------------------------------

    def step(self, timeout: float = 0.2) -> None:
        """Connect if needed, send what is queued, handle what arrives, keep the line alive."""
        if not self.connected:
            self.connect()
        retry, self._retry = self._retry, []
        for report, cancel_answered in retry:
            self._apply(report, cancel_answered=cancel_answered)
        self.send_pending()
        self.pump(timeout)
        if self.connected:
            self.heartbeat()

    def run_once(self, poll: float = 0.2) -> None:
        """One ``step``; on failure close, and wait (doubling, up to max_backoff) to reconnect."""
        wait = self._next_attempt - time.monotonic()
        if not self.connected and wait > 0:
            self._stopping.wait(min(poll, wait))
            return
        try:
            self.step(poll)
        except Exception as exc:
            if isinstance(exc, (OSError, FixSessionError)):
                log.warning("FIX session to %s:%s: %s", self.host, self.port, exc)
            else:
                log.exception("FIX gateway step failed")
            self.close()
            self.counts["failures"] += 1
            self._next_attempt = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self.max_backoff)


def run_forever(poll: float = 0.2, *, client: FixClient | None = None) -> None:
    """The ``riskdesk fixgateway`` process: hold the session until SIGTERM/SIGINT or
    ``client.stop()``, then log out."""
    client = client or FixClient()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: client.stop())
    log.info("FIX gateway to %s:%s starting", client.host, client.port)
    try:
        while not client.stopped:
            close_old_connections()  # a broken or too old database connection is made again
            client.run_once(poll)
    finally:
        client.logout()
        connections.close_all()
