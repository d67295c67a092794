#!/usr/bin/env python3
"""Draws the three concept diagrams of the documentation as SVG (no data: the behaviour of the
code, as README.md's "What happens to a count", "Delivery guarantees" and "Shutting down a plain
application" and statbuffer-jdbc/README.md describe it).

Usage: diagrams.py [OUT_DIR]   (default: docs/img at the repository root)

Writes life-of-a-count.svg, exactly-once.svg and shutdown-order.svg. Edit the drawings here and
run this again; the output is the same bytes for the same code. Same style as charts.py: white
background, system sans-serif font, the Okabe-Ito colours, no JavaScript.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from charts import FONT, INK, MUTED, WIDTH, _esc, _num  # noqa: E402

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
RED = "#D55E00"
PURPLE = "#CC79A7"
LANE = "#f4f4f4"
BLUE_TINT = "#dcebf5"
GREEN_TINT = "#ddf2ea"
RED_TINT = "#f8e1d6"
ORANGE_TINT = "#fbeccc"
MARKERS = {INK: "arrow-ink", RED: "arrow-red", GREEN: "arrow-green", BLUE: "arrow-blue",
           MUTED: "arrow-muted"}


class Drawing:
    def __init__(self, title, description):
        self.title = title
        self.description = description
        self.parts = []

    def text(self, x, y, content, size=12, anchor="start", colour=INK, weight=None,
             italic=False, mono=False):
        extra = f' font-weight="{weight}"' if weight else ""
        extra += ' font-style="italic"' if italic else ""
        extra += (' font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, '
                  '\'Liberation Mono\', monospace" xml:space="preserve"') if mono else ""
        self.parts.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" '
                          f'text-anchor="{anchor}" fill="{colour}"{extra}>{_esc(content)}</text>')

    def lines(self, x, y, contents, size=12, leading=None, **style):
        leading = leading or size * 1.35
        for index, content in enumerate(contents):
            self.text(x, y + index * leading, content, size=size, **style)

    def rect(self, x, y, width, height, fill, stroke=None, radius=0, dash=None, stroke_width=1):
        extra = f' stroke="{stroke}" stroke-width="{stroke_width}"' if stroke else ""
        extra += f' rx="{radius}"' if radius else ""
        extra += f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" '
                          f'height="{_num(height)}" fill="{fill}"{extra}/>')

    def line(self, x1, y1, x2, y2, colour=INK, width=1, dash=None, arrow=False):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        extra += f' marker-end="url(#{MARKERS[colour]})"' if arrow else ""
        self.parts.append(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" '
                          f'y2="{_num(y2)}" stroke="{colour}" stroke-width="{width}"{extra}/>')

    def circle(self, x, y, r, fill, stroke=None):
        extra = f' stroke="{stroke}" stroke-width="1.5"' if stroke else ""
        self.parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" '
                          f'fill="{fill}"{extra}/>')

    def cross(self, x, y, size=5, colour=RED, width=2):
        self.line(x - size, y - size, x + size, y + size, colour, width)
        self.line(x - size, y + size, x + size, y - size, colour, width)

    def tick(self, x, y, colour=GREEN):
        self.parts.append(f'<polyline points="{_num(x - 5)},{_num(y)} {_num(x - 1)},{_num(y + 4)} '
                          f'{_num(x + 6)},{_num(y - 5)}" fill="none" stroke="{colour}" '
                          'stroke-width="2.2"/>')

    def badge(self, x, y, number, colour=INK):
        self.circle(x, y, 9, colour)
        self.text(x, y + 4, str(number), size=11, anchor="middle", colour="#ffffff",
                  weight="700")

    def bracket(self, x1, x2, y, label, colour=MUTED, size=11):
        self.line(x1, y, x2, y, colour)
        self.line(x1, y - 4, x1, y + 4, colour)
        self.line(x2, y - 4, x2, y + 4, colour)
        self.text((x1 + x2) / 2, y - 5, label, size=size, anchor="middle", colour=colour)

    def render(self, height):
        defs = "".join(
            f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>' for colour, name in MARKERS.items())
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{_num(height)}" '
                f'viewBox="0 0 {WIDTH} {_num(height)}" font-family="{FONT}" role="img" '
                f'aria-labelledby="title desc">\n'
                f'<title id="title">{_esc(self.title)}</title>\n'
                f'<desc id="desc">{_esc(self.description)}</desc>\n'
                f'<defs>{defs}</defs>\n'
                f'<rect x="0" y="0" width="{WIDTH}" height="{_num(height)}" fill="#ffffff"/>\n'
                + "\n".join(self.parts) + "\n</svg>\n")


def life_of_a_count():
    d = Drawing(
        "The life of a count",
        "One key's counts over time: increments from two threads open a window, the drain "
        "hands it over at interval plus jitter, the handler fails and the same batch id is "
        "retried, a new window opens during the delivery, close() hands it over at once, and "
        "what cannot be delivered by shutdownTimeout goes to onDrop.")
    d.text(16, 26, "The life of a count: one key, from increment to store", size=16,
           weight="600")
    d.text(16, 44, "Time runs left to right. S-1, S-2: batch ids (S is the buffer's sender id), "
           "the same on every retry.", size=12, colour=MUTED)
    lanes = [
        ("thread 1", "increment(key)", 78),
        ("thread 2", "increment(key)", 112),
        ("the key's window", "its Cell", 160),
        ("timing wheel, drain", "the scheduler's thread", 214),
        ("handler calls", "on the executor", 268),
        ("store", "", 322),
        ("onDrop", "", 368),
    ]
    left, right = 170, WIDTH - 14
    for index, (name, sub, y) in enumerate(lanes):
        top = y - 17
        height = 34 if index != 2 else 38
        d.rect(8, top, right - 8, height, LANE if index % 2 == 0 else "#fafafa")
        d.text(16, y + (0 if sub else 4), name, size=12, weight="600")
        if sub:
            d.text(16, y + 13, sub, size=10.5, colour=MUTED)
    t0, due, reopen, close, end = 190, 340, 372, 505, 705
    # Increments: seven into window A, three into window B, one refused after close().
    for x in (t0, 214, 262, 300):
        d.line(x, 68, x, 88, BLUE, 2.2)
    for x in (236, 282, 322):
        d.line(x, 102, x, 122, BLUE, 2.2)
    for x in (reopen, 455):
        d.line(x, 102, x, 122, ORANGE, 2.2)
    d.line(404, 68, 404, 88, ORANGE, 2.2)
    d.cross(560, 78, 5, MUTED, 1.6)
    d.text(568, 82, "after close(): returns false", size=10.5, colour=MUTED)
    # Windows.
    d.rect(t0, 148, due - t0, 22, BLUE_TINT, BLUE, 3)
    d.text(t0 + 6, 163, "window open: count 7", size=11, colour=INK)
    d.line(due, 159, reopen, 159, MUTED, 1.5, dash="3 3")
    d.text(due + 6, 182, "dormant", size=9.5, colour=MUTED)
    d.rect(reopen, 148, close - reopen, 22, ORANGE_TINT, ORANGE, 3)
    d.text(reopen + 6, 163, "new window: count 3", size=11)
    d.bracket(t0, due, 138, "interval + jitter", size=10.5)
    d.badge(t0, 138 - 2 - 12, 1)
    # Hand-overs.
    d.line(due, 170, due, 205, INK, 1.3, arrow=True)
    d.circle(due, 214, 6, INK)
    d.text(due - 9, 218, "due tick: hand-over, S-1 = 7", size=10.5, anchor="end")
    d.badge(due + 14, 200, 2)
    d.line(due, 220, due + 6, 254, INK, 1.3, arrow=True)
    d.line(close, 170, close, 205, INK, 1.3, arrow=True)
    d.circle(close, 214, 6, INK)
    d.text(close + 9, 218, "close(): hand-over at once, S-2 = 3", size=10.5)
    d.line(close, 220, close + 6, 254, INK, 1.3, arrow=True)
    d.badge(reopen, 138, 4, ORANGE)
    # Handler calls for S-1: fails, backoff, succeeds.
    d.rect(due + 6, 257, 36, 22, RED_TINT, RED, 3)
    d.cross(due + 24, 268)
    d.text(due + 30, 252, "attempt 1", size=9.5, anchor="middle", colour=RED)
    d.bracket(due + 42, 430, 290, "backoff", size=10)
    d.rect(430, 257, 36, 22, GREEN_TINT, GREEN, 3)
    d.tick(448, 268)
    d.text(448, 252, "attempt 2", size=9.5, anchor="middle", colour=GREEN)
    d.badge(due + 62, 268, 3, RED)
    # Handler calls for S-2 during close: fail until shutdownTimeout.
    for x in (close + 6, 556, 604, 652):
        d.rect(x, 257, 30, 22, RED_TINT, RED, 3)
        d.cross(x + 15, 268, 4.5)
    d.bracket(close, end, 296, "shutdownTimeout: re-sent, at most 100 ms apart", size=10)
    d.badge(close + 34, 54, 5)
    d.line(close, 60, close, 386, INK, 1.2, dash="5 4")
    d.text(close, 58, "close()", size=11, anchor="middle", weight="600")
    # Store.
    d.rect(190, 312, 140, 20, "#ffffff", "#bdbdbd", 3)
    d.text(196, 326, "up", size=10.5, colour=MUTED)
    d.rect(330, 312, 95, 20, RED_TINT, RED, 3)
    d.text(336, 326, "down", size=10.5, colour=RED)
    d.rect(425, 312, 65, 20, "#ffffff", "#bdbdbd", 3)
    d.rect(490, 312, end - 490, 20, RED_TINT, RED, 3)
    d.text(496, 326, "down again", size=10.5, colour=RED)
    d.line(448, 279, 448, 310, GREEN, 1.3, arrow=True)
    d.text(444, 306, "+7, applied once", size=10.5, anchor="end", colour=GREEN)
    # onDrop.
    d.line(end, 279, end, 358, RED, 1.3, arrow=True)
    d.rect(end - 190, 358, 190, 22, RED_TINT, RED, 3)
    d.text(end - 184, 373, "onDrop(S-2: key = 3), droppedSum", size=11, colour=RED)
    d.badge(end - 204, 369, 6, RED)
    notes = [
        (1, INK, "The first increment after the key's last hand-over opens a window, due "
                 "interval + jitter later; later increments from any"),
        (None, INK, "thread add to it: a CAS on a striped counter, no lock, no allocation."),
        (2, INK, "At the due tick the drain, on the scheduler's thread, hands the window over as "
                 "one sum, batch S-1 = 7 (within one tick"),
        (None, INK, "while handlers keep up). The cell stays, dormant; the delivery runs on the "
                    "executor."),
        (3, RED, "The handler throws (the store is down): the same batch, id S-1 and count 7, "
                 "is retried after backoff (doubling up to"),
        (None, INK, "maxBackoff), with attempt() one higher. The store applies it once."),
        (4, ORANGE, "An increment during that delivery opens a new window; nothing changes a "
                    "count already handed over."),
        (5, INK, "close(): later increments return false, open windows are handed over at "
                 "once, and failed batches are re-sent without"),
        (None, INK, "waiting out their backoff, until shutdownTimeout."),
        (6, RED, "What is still undelivered then goes to onDrop (logged at ERROR; the "
                 "dead-letter file if set) and stats().droppedSum()."),
        (None, INK, "Without close(), a batch that fails maxAttempts times goes to onDrop the "
                    "same way."),
    ]
    y = 410
    for number, colour, content in notes:
        if number is not None:
            d.badge(24, y - 4, number, colour)
        d.text(40, y, content, size=11.5)
        y += 18
    return d.render(y + 6)


def exactly_once():
    d = Drawing(
        "Exactly once through the JDBC sink",
        "A batch commits but its acknowledgement is lost; the buffer retries the same batch id; "
        "the sink finds the id in its ledger and acknowledges without applying the counts "
        "again, so the count is applied once.")
    d.text(16, 26, "Exactly once: a lost acknowledgement, a retry, a ledger hit", size=16,
           weight="600")
    d.text(16, 44, "JdbcSink, exactlyOnce on (the default); as sent to MariaDB, MySQL, SQLite "
           "(H2 first locks a row).", size=12, colour=MUTED)
    cols = {"buffer": 100, "sink": 360, "db": 640}
    heads = {"buffer": ("StatBuffer", "deliveries, retries"),
             "sink": ("JdbcSink.flush(batch)", "the handler"),
             "db": ("database", "counter table + ledger table")}
    for key, x in cols.items():
        name, sub = heads[key]
        d.rect(x - 92, 58, 184, 38, "#ffffff", INK, 4)
        d.text(x, 74, name, size=12.5, anchor="middle", weight="600")
        d.text(x, 89, sub, size=10.5, anchor="middle", colour=MUTED)
        d.line(x, 96, x, 612, "#9e9e9e", 1, dash="4 4")

    def call(y, a, b, label, colour=INK, dash=None, mono=False):
        x1, x2 = cols[a], cols[b]
        x2 = x2 - 4 if x2 > x1 else x2 + 4
        d.line(x1, y, x2, y, colour, 1.5, dash=dash, arrow=True)
        d.text((x1 + x2) / 2, y - 6, label, size=11, anchor="middle", colour=colour, mono=mono)

    def note(x, y, lines, fill, stroke, width=210):
        d.rect(x - width / 2, y, width, 8 + 15 * len(lines), fill, stroke, 4)
        d.lines(x - width / 2 + 8, y + 16, lines, size=11, leading=15)

    d.badge(20, 126, 1)
    call(130, "buffer", "sink", "batch S-1 {/home: 7}, attempt 1")
    call(160, "sink", "db", "INSERT ledger S-1 (a duplicate is ignored)")
    call(184, "db", "sink", "1 row: a new id", MUTED, dash="4 3")
    call(212, "sink", "db", "upsert: views = views + 7")
    call(240, "sink", "db", "COMMIT")
    note(cols["db"], 250, ["views 100 -> 107, S-1 in ledger"], GREEN_TINT, GREEN, 196)
    d.badge(20, 301, 2, RED)
    x_mid = (cols["sink"] + cols["db"]) / 2
    d.line(cols["db"], 311, x_mid + 12, 311, RED, 1.5, dash="4 3")
    d.cross(x_mid, 311, 6)
    d.lines(x_mid, 289, ["acknowledgement lost:", "connection cut after the commit"], size=11,
            leading=13, anchor="middle", colour=RED)
    call(336, "sink", "buffer", "throws: the call failed", RED)
    note(cols["buffer"], 346, ["retry after backoff:", "same id, same counts"], ORANGE_TINT,
         ORANGE, 170)
    d.badge(20, 408, 3)
    call(412, "buffer", "sink", "batch S-1 {/home: 7}, attempt 2")
    call(442, "sink", "db", "INSERT ledger S-1 (a duplicate is ignored)")
    d.badge(20, 462, 4, GREEN)
    call(466, "db", "sink", "0 rows: already applied (ledger hit)", GREEN, dash="4 3")
    call(496, "sink", "db", "ROLLBACK: counters not touched")
    note(cols["db"], 506, ["views: still 107"], GREEN_TINT, GREEN, 196)
    d.badge(20, 548, 5, GREEN)
    call(552, "sink", "buffer", "returns normally", GREEN)
    note(cols["buffer"], 562, ["delivered: 7 counted once"], GREEN_TINT, GREEN, 170)
    notes = [
        "PostgreSQL gets the ledger insert and the upsert as one statement; the outcome is the "
        "same. A batch larger than",
        "maxRowsPerTransaction is written in chunks, each applied once under an id of its own.",
        "With exactlyOnce(false) there is no ledger: step 3 adds 7 again (views 114).",
        "The ledger remembers ids for ledgerRetention (7 days by default); the buffer drops a "
        "batch to onDrop rather than",
        "retry it past that horizon. RedisSink makes the same check inside the script that "
        "writes the counters.",
    ]
    d.lines(16, 622, notes, size=11.5, leading=17, colour=MUTED)
    return d.render(622 + 17 * len(notes))


def shutdown_order():
    d = Drawing(
        "Shutting down: the order of the buffer and the connection pool",
        "Wrong: the application's own shutdown hook closes the pool while the buffer's hook "
        "dumps, so the dump's writes fail until shutdownTimeout and the counts go to onDrop. "
        "Right: closeAfterDump(pool), or shutdownHook(false) and one hook that closes the "
        "buffer and then the pool.")
    d.text(16, 26, "Shutting down: close the buffer first, then the pool", size=16,
           weight="600")
    d.text(16, 44, "The JVM starts every shutdown hook at once, in no set order, and exits when "
           "all have returned.", size=12, colour=MUTED)
    start = 206
    # Wrong.
    d.rect(8, 56, WIDTH - 16, 216, "#ffffff", RED, 6, stroke_width=1.5)
    d.cross(26, 76, 6)
    d.text(40, 81, "Wrong: two hooks race", size=13.5, weight="600", colour=RED)
    d.text(40, 98, "the buffer's own hook (on by default) and the application's "
           "addShutdownHook(new Thread(pool::close))", size=11, colour=MUTED)
    for name, y in (("your hook", 142), ("buffer's hook", 186)):
        d.rect(16, y - 18, WIDTH - 32, 36, LANE)
        d.text(24, y + 4, name, size=12, weight="600")
    d.line(start, 118, start, 204, INK, 1.2, dash="5 4")
    d.text(start, 116, "JVM shutdown begins", size=10.5, anchor="middle")
    d.rect(start + 4, 131, 90, 22, RED_TINT, RED, 3)
    d.text(start + 10, 146, "pool.close()", size=11, mono=True)
    d.text(start + 102, 146, "the pool is closed", size=11, colour=RED)
    d.rect(start + 4, 175, 88, 22, BLUE_TINT, BLUE, 3)
    d.text(start + 10, 190, "close(): dump", size=11)
    xs = [start + 100 + 42 * i for i in range(9)]
    for x in xs:
        d.rect(x, 175, 32, 22, RED_TINT, RED, 3)
        d.cross(x + 16, 186, 4.5)
    end = xs[-1] + 38
    d.line(end, 172, end, 200, RED, 2)
    d.text(end + 4, 190, "onDrop", size=11, weight="600", colour=RED)
    d.text(start + 4, 218, "each write fails: getConnection() on a closed pool; retried at most "
           "100 ms apart", size=11, colour=RED)
    d.bracket(start, end, 240, "shutdownTimeout (30 s by default): the JVM's exit waits this long",
              size=10.5)
    d.text(24, 262, "The counts never reach the store: onDrop logs them (ERROR, and standard "
           "error), and the dead-letter file keeps them if set.", size=11)
    # Right.
    top = 286
    d.rect(8, top, WIDTH - 16, 256, "#ffffff", GREEN, 6, stroke_width=1.5)
    d.tick(28, top + 20)
    d.text(40, top + 25, "Right: one order, the buffer then the pool", size=13.5, weight="600",
           colour=GREEN)
    options = [
        ("A. closeAfterDump(pool)", "the buffer's own hook", top + 64, "close(): dump",
         ["StatBuffer<String> views = StatBuffer.newBuilder()",
          "    .closeAfterDump(pool)   // closed after the last delivery or drop",
          "    .buildBatched(sink);"]),
        ("B. shutdownHook(false)", "one hook of your own", top + 164, "views.close()",
         ["StatBuffer<String> views = StatBuffer.newBuilder()",
          "    .shutdownHook(false).buildBatched(sink);",
          "Runtime.getRuntime().addShutdownHook(",
          "    new Thread(() -> { views.close(); pool.close(); }));"]),
    ]
    for name, sub, y, first, code in options:
        d.rect(16, y - 18, WIDTH - 32, 36, LANE)
        d.text(24, y - 2, name, size=12, weight="600")
        d.text(24, y + 12, sub, size=10.5, colour=MUTED)
        d.line(start, y - 18, start, y + 18, INK, 1.2, dash="5 4")
        d.rect(start + 4, y - 11, 98, 22, GREEN_TINT, GREEN, 3)
        d.text(start + 10, y + 4, first, size=11, mono=first.startswith("views"))
        d.tick(start + 116, y - 1)
        d.line(start + 126, y, start + 146, y, INK, 1.3, arrow=True)
        d.rect(start + 150, y - 11, 90, 22, "#ffffff", INK, 3)
        d.text(start + 156, y + 4, "pool.close()", size=11, mono=True)
        d.text(start + 252, y + 4, "delivered, then the pool closes; the JVM exits", size=11,
               colour=GREEN)
        d.lines(40, y + 36, code, size=10.5, leading=14, mono=True)
    d.text(16, top + 276, "A durable buffer keeps what it could not deliver in time in its "
           "directory, for the next start, instead of dropping it.", size=11.5, colour=MUTED)
    return d.render(top + 290)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "docs", "img")
    os.makedirs(target, exist_ok=True)
    for name, draw in (("life-of-a-count.svg", life_of_a_count),
                       ("exactly-once.svg", exactly_once),
                       ("shutdown-order.svg", shutdown_order)):
        with open(os.path.join(target, name), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(draw())


if __name__ == "__main__":
    main()
