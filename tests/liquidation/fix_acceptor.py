"""A FIX 4.4 acceptor for the gateway's tests: a thread on 127.0.0.1 (a free port) that logs
on, answers Heartbeat/TestRequest/Logout, and acts as a tiny exchange.

On NewOrderSingle it answers ExecutionReport New (150=0, 39=0), then by ``modes[symbol]``:

- ``("rest",)`` (default): nothing more, the order rests;
- ``("fill", price)``: one full fill (150=F, 39=2, 32/31/14/6/151);
- ``("partial", quantity, price)``: one partial fill (39=1);
- ``("drop", next_mode)``: no answer at all, the connection is closed (the order is forgotten),
  and the symbol's mode becomes ``next_mode``.

On OrderCancelRequest: Canceled (150=4, 39=4) while anything is open, else OrderCancelReject
(35=9); ``("fill_on_cancel", price)`` first fills the rest, so the cancel comes too late;
``("refuse_cancel",)`` rejects the cancel of an open order.

Every message received is kept (``received``: (connection number, FixMessage)), and every
message sent (``sent``), so a test can assert tags and re-send one (``resend``).
"""

import select
import socket
import threading
import time
from decimal import Decimal

import simplefix

SENDER, TARGET = "OMS", "RISKDESK"


def tag(msg, number: int) -> str | None:
    value = msg.get(number)
    return None if value is None else value.decode()


def msg_type(msg) -> str:
    return msg.message_type.decode()


class FixAcceptor:
    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.modes: dict[str, tuple] = {}
        self.received: list[tuple[int, simplefix.FixMessage]] = []
        self.sent: list[simplefix.FixMessage] = []
        self.orders: dict[str, dict] = {}
        self.connections = 0
        self._conn: socket.socket | None = None
        self._seq = 1
        self._exec = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._drop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # --- what the tests call ---------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._close_conn()
        self.listener.close()

    def drop(self, timeout: float = 2.0) -> None:
        """Close the current connection (as a crash of the OMS would) and wait until done."""
        self._drop.set()
        deadline = time.monotonic() + timeout
        while self._drop.is_set() and time.monotonic() < deadline:
            time.sleep(0.005)

    def got(self, kind: str, connection: int | None = None) -> list:
        with self._lock:
            return [m for n, m in self.received if msg_type(m) == kind and connection in (None, n)]

    def reports(self, exec_type: str) -> list:
        with self._lock:
            return [m for m in self.sent if msg_type(m) == "8" and tag(m, 150) == exec_type]

    def wait_for(self, predicate, timeout: float = 3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.005)
        raise AssertionError("the acceptor did not see it in time")

    def resend(self, msg) -> None:
        """Send ``msg``'s body again (PossDupFlag 43=Y, a new sequence number)."""
        body = [
            (int(t), v.decode())
            for t, v in msg.pairs
            if int(t) not in (8, 9, 10, 34, 35, 43, 49, 52, 56, 122)
        ]
        self.send(msg_type(msg), body, header=[(43, "Y"), (122, tag(msg, 52))])

    def send(self, kind: str, fields, *, header=()) -> simplefix.FixMessage:
        with self._lock:
            msg = simplefix.FixMessage()
            msg.append_pair(8, "FIX.4.4", header=True)
            msg.append_pair(35, kind, header=True)
            msg.append_pair(49, SENDER, header=True)
            msg.append_pair(56, TARGET, header=True)
            msg.append_pair(34, self._seq, header=True)
            msg.append_utc_timestamp(52, precision=3, header=True)
            for t, v in header:
                msg.append_pair(t, v, header=True)
            for t, v in fields:
                msg.append_pair(t, v)
            self._seq += 1
            self.sent.append(msg)
            if self._conn is not None:
                self._conn.sendall(msg.encode())
            return msg

    # --- the exchange -----------------------------------------------------------------------

    def _report(self, order, exec_type, status, *, last=(0, None), cl_ord_id=None, text=None):
        self._exec += 1
        quantity, price = last
        fields = [
            (37, order["order_id"]),
            (11, cl_ord_id or order["id"]),
            *([(41, order["id"])] if cl_ord_id else []),
            (17, f"E{self._exec}"),
            (150, exec_type),
            (39, status),
            (1, order["account"]),
            (55, order["symbol"]),
            (54, order["side"]),
            (38, order["quantity"]),
            (32, quantity),
            (31, price if price is not None else "0"),
            (14, order["cum"]),
            (6, order["avg"]),
            (151, 0 if status in ("2", "4", "8") else order["quantity"] - order["cum"]),
        ]
        if text:
            fields.append((58, text))
        return self.send("8", fields)

    def _fill(self, order, quantity: int, price: Decimal):
        value = order["avg"] * order["cum"] + price * quantity
        order["cum"] += quantity
        order["avg"] = value / order["cum"]
        status = "2" if order["cum"] == order["quantity"] else "1"
        return self._report(order, "F", status, last=(quantity, price))

    def _new_order(self, msg) -> None:
        ident = tag(msg, 11)
        if ident in self.orders:
            return  # a re-sent order (97=Y PossResend) we already have: nothing twice
        mode = self.modes.get(tag(msg, 55), ("rest",))
        if mode[0] == "drop":
            self.modes[tag(msg, 55)] = mode[1]
            self._drop.set()
            return
        order = {
            "id": ident,
            "order_id": f"X{len(self.orders) + 1}",
            "account": tag(msg, 1),
            "symbol": tag(msg, 55),
            "side": tag(msg, 54),
            "quantity": int(tag(msg, 38)),
            "cum": 0,
            "avg": Decimal(0),
        }
        self.orders[ident] = order
        self._report(order, "0", "0")
        if mode[0] == "fill":
            self._fill(order, order["quantity"], Decimal(mode[1]))
        elif mode[0] == "partial":
            self._fill(order, mode[1], Decimal(mode[2]))

    def _cancel(self, msg) -> None:
        order = self.orders.get(tag(msg, 41))
        cl_ord_id = tag(msg, 11)
        mode = self.modes.get(order["symbol"], ("rest",)) if order else ("rest",)
        if order and mode[0] == "fill_on_cancel" and order["cum"] < order["quantity"]:
            self._fill(order, order["quantity"] - order["cum"], Decimal(mode[1]))
        open_ = order and not order.get("done") and order["cum"] < order["quantity"]
        if open_ and mode[0] != "refuse_cancel":
            order["done"] = True
            self._report(order, "4", "4", cl_ord_id=cl_ord_id)
            return
        status = "2" if order and order["cum"] == order["quantity"] else "0"
        self.send(
            "9",
            [
                (37, order["order_id"] if order else "NONE"),
                (11, cl_ord_id),
                (41, tag(msg, 41)),
                (39, status),
                (434, 1),
                (102, 0 if order else 1),
                (58, "too late to cancel" if status == "2" else "cancel refused"),
            ],
        )

    def _handle(self, msg) -> None:
        kind = msg_type(msg)
        if kind == "A":
            fields = [(98, 0), (108, tag(msg, 108))]
            if tag(msg, 141) == "Y":
                self._seq = 1
                fields.append((141, "Y"))
            self.send("A", fields)
        elif kind == "1":
            self.send("0", [(112, tag(msg, 112))])
        elif kind == "5":
            self.send("5", [])
            self._drop.set()
        elif kind == "D":
            self._new_order(msg)
        elif kind == "F":
            self._cancel(msg)

    # --- the socket -------------------------------------------------------------------------

    def _close_conn(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    def _run(self) -> None:
        parser = simplefix.FixParser()
        while not self._stop.is_set():
            if self._drop.is_set():
                self._close_conn()
                self._drop.clear()
            conn = self._conn
            ready, _, _ = select.select([conn or self.listener], [], [], 0.02)
            if not ready:
                continue
            if conn is None:
                conn, _ = self.listener.accept()
                with self._lock:
                    self._conn, self._seq = conn, 1
                    self.connections += 1
                parser = simplefix.FixParser()
                continue
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._close_conn()
                continue
            parser.append_buffer(data)
            while (msg := parser.get_message()) is not None:
                with self._lock:
                    self.received.append((self.connections, msg))
                    self._handle(msg)
                if self._drop.is_set():
                    break
