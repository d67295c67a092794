"""SVG charts for BENCHMARKS.md, drawn from the values report.py prints in its tables.

Plain SVG written by hand (no plotting library, no JavaScript): a white background, a system
sans-serif font, colours that read on white in light and dark pages alike (the Okabe-Ito
palette), a label with its value on every bar. Coordinates are rounded to one decimal, and
nothing depends on the clock or the machine, so the same figures give the same bytes.

report.py calls peers_svg and sinks_svg with the very numbers its tables print; this module
computes nothing of its own but positions.
"""
import math

WIDTH = 760
FONT = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
        "'Liberation Sans', sans-serif")
INK = "#1a1a1a"
MUTED = "#595959"
GRID = "#e3e3e3"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PEER_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
UNBUFFERED_COLOUR = "#D55E00"
BUFFERED_COLOUR = "#0072B2"


def _num(value):
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Svg:
    def __init__(self, title, description):
        self.parts = []
        self.title = title
        self.description = description

    def text(self, x, y, content, size=12, anchor="start", colour=INK, weight=None):
        extra = f' font-weight="{weight}"' if weight else ""
        self.parts.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" '
                          f'text-anchor="{anchor}" fill="{colour}"{extra}>{_esc(content)}</text>')

    def rect(self, x, y, width, height, fill):
        self.parts.append(f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(width, 0.0))}" '
                          f'height="{_num(height)}" fill="{fill}"/>')

    def line(self, x1, y1, x2, y2, colour=GRID, width=1, dash=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" '
                          f'y2="{_num(y2)}" stroke="{colour}" stroke-width="{width}"{extra}/>')

    def render(self, height):
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{_num(height)}" '
                f'viewBox="0 0 {WIDTH} {_num(height)}" font-family="{FONT}" role="img" '
                f'aria-labelledby="title desc">\n'
                f'<title id="title">{_esc(self.title)}</title>\n'
                f'<desc id="desc">{_esc(self.description)}</desc>\n'
                f'<rect x="0" y="0" width="{WIDTH}" height="{_num(height)}" fill="#ffffff"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"


def _text_width(text, size):
    """A rough width for placing labels: no font metrics are at hand."""
    return len(text) * size * 0.56


def peers_svg(groups, peers, run_label):
    """Grouped horizontal bars, log scale: StatBuffer's median / each peer's, per case.

    groups: [(section title, [(case label, {peer: (ratio, ratio text)} or None)])], where None
    means the case was not measured and a peer missing from the dict was not measured in it.
    peers: [(peer, legend label)], in bar order. run_label: the run's date, for the subtitle.
    """
    ratios = [r for _, cases in groups for _, row in cases if row
              for r, _ in row.values() if r and r > 0]
    low = min(ratios + [0.75])
    high = max(ratios + [1.5])
    low_exp = math.floor(math.log2(low))
    high_exp = math.ceil(math.log2(high))
    left, right = 178, WIDTH - 20
    pad = 46  # room for a value label beyond the longest bar
    x_min, x_max = left + pad, right - pad

    def x_of(ratio):
        return x_min + (math.log2(ratio) - low_exp) / (high_exp - low_exp) * (x_max - x_min)

    title = "Increments on existing keys: StatBuffer against each peer"
    svg = _Svg(title, "For every case (threads, keys, key distribution), StatBuffer's median "
               "increments per second divided by each peer's, on a log scale; above 1, "
               "StatBuffer is faster. The increment tables of BENCHMARKS.md hold the figures.")
    svg.text(16, 26, title, size=16, weight="600")
    svg.text(16, 45, f"StatBuffer's median increments/s divided by the peer's, same JMH run; "
             f"{run_label}", size=12, colour=MUTED)
    # Legend.
    x = 16
    for (peer, label), colour in zip(peers, PEER_COLOURS):
        svg.rect(x, 58, 12, 12, colour)
        svg.text(x + 17, 68.5, label, size=12)
        x += 17 + _text_width(label, 12) + 22
    bar, gap, group_gap = 9, 1.5, 11
    top = 92
    y = top
    rows = []
    for section, cases in groups:
        y += 6
        rows.append(("section", section, y))
        y += 16
        for label, row in cases:
            rows.append(("case", (label, row), y))
            y += len(peers) * (bar + gap) + group_gap
    bottom = y
    # Grid, drawn first so the bars sit on top.
    for exp in range(low_exp, high_exp + 1):
        gx = x_of(2.0 ** exp)
        if exp != 0:
            svg.line(gx, top, gx, bottom, GRID)
        value = 2.0 ** exp
        tick = f"{value:g}" if value >= 1 else f"{value:.2f}".rstrip("0")
        svg.text(gx, bottom + 15, tick, size=11, anchor="middle", colour=MUTED)
    for kind, payload, ry in rows:
        if kind == "section":
            svg.text(16, ry + 10, payload, size=13, weight="600")
            svg.line(16, ry + 15, right, ry + 15, "#c8c8c8")
            continue
        label, row = payload
        height = len(peers) * (bar + gap) - gap
        svg.text(left - 10, ry + height / 2 + 4, label, size=12, anchor="end")
        if row is None:
            svg.text(x_of(1.0) + 6, ry + height / 2 + 4, "not measured", size=11,
                     colour=MUTED)
            continue
        for index, ((peer, _), colour) in enumerate(zip(peers, PEER_COLOURS)):
            by = ry + index * (bar + gap)
            if peer not in row or not row[peer][0]:
                svg.text(x_of(1.0) + 4, by + bar - 1, "n/a", size=9, colour=MUTED)
                continue
            ratio, text = row[peer]
            x0, x1 = sorted((x_of(1.0), x_of(ratio)))
            svg.rect(x0, by, x1 - x0, bar, colour)
            if ratio >= 1:
                svg.text(x1 + 4, by + bar - 1, text, size=10)
            else:
                svg.text(x0 - 4, by + bar - 1, text, size=10, anchor="end")
    one = x_of(1.0)
    svg.line(one, top, one, bottom, INK, width=1.5)
    svg.text(one, top - 4, "1 = as fast", size=11, anchor="middle", colour=INK)
    svg.text((x_min + x_max) / 2, bottom + 34,
             "StatBuffer / peer (log scale): right of 1, StatBuffer is faster; left, slower",
             size=12, anchor="middle", colour=MUTED)
    return svg.render(bottom + 48)


def sinks_svg(stores, increments, run_label):
    """Per store, writes for `increments` increments: one per increment against buffered.

    stores: [(label, baseline writes or None, baseline text, buffered writes or None,
    buffered text, note)]: a bar's text is its value label, or what to say in its place when
    the value is None; note is a short line under the label (the speedup), or None.
    """
    values = [v for s in stores if s for v in (s[1], s[3]) if v]
    high_exp = max(1, math.ceil(math.log10(max(values)))) if values else 6
    left, right = 190, WIDTH - 24
    pad = 78
    x_min, x_max = left, right - pad

    def x_of(value):
        return x_min + math.log10(max(value, 1)) / high_exp * (x_max - x_min)

    title = f"Store writes for {increments:,} increments: one per increment against buffered"
    svg = _Svg(title, "For each store, the statements (SQL, COMMIT included) or Redis round "
               f"trips that {increments:,} increments cost without a buffer (one per "
               "increment) and through a StatBuffer, on a log scale; the sink table of "
               "BENCHMARKS.md holds the figures.")
    svg.text(16, 26, title, size=16, weight="600")
    svg.text(16, 45, "SQL statements (COMMIT included) or Redis round trips, log scale; "
             f"{run_label}", size=12, colour=MUTED)
    x = 16
    for label, colour in (("without a buffer: one write per increment", UNBUFFERED_COLOUR),
                          ("through StatBuffer (one flush of every key)", BUFFERED_COLOUR)):
        svg.rect(x, 58, 12, 12, colour)
        svg.text(x + 17, 68.5, label, size=12)
        x += 17 + _text_width(label, 12) + 22
    bar, gap, group_gap = 15, 3, 20
    top = 90
    y = top + 8
    placed = []
    for store in stores:
        placed.append((store, y))
        y += 2 * bar + gap + group_gap
    bottom = y - group_gap + 8
    for exp in range(0, high_exp + 1):
        gx = x_of(10 ** exp)
        svg.line(gx, top, gx, bottom, GRID)
        svg.text(gx, bottom + 15, f"{10 ** exp:,}", size=11, anchor="middle", colour=MUTED)
    for store, sy in placed:
        label, baseline, baseline_text, buffered, buffered_text, note = store
        middle = sy + bar + gap / 2
        svg.text(left - 12, middle - 2, label, size=12, anchor="end")
        if note:
            svg.text(left - 12, middle + 12, note, size=11, anchor="end", colour=MUTED)
        if not baseline and not buffered and baseline_text == buffered_text:
            svg.text(x_min + 4, middle + 2, baseline_text, size=11, colour=MUTED)
            continue
        for index, (value, text, colour) in enumerate(
                ((baseline, baseline_text, UNBUFFERED_COLOUR),
                 (buffered, buffered_text, BUFFERED_COLOUR))):
            by = sy + index * (bar + gap)
            if not value:
                svg.text(x_min + 4, by + bar - 3, text, size=11, colour=MUTED)
                continue
            end = x_of(value)
            svg.rect(x_min, by, end - x_min, bar, colour)
            svg.text(end + 5, by + bar - 3, text, size=11)
    svg.line(x_min, top, x_min, bottom, INK, width=1.2)
    svg.text((x_min + x_max) / 2, bottom + 34,
             f"writes for {increments:,} increments (log scale)", size=12, anchor="middle",
             colour=MUTED)
    return svg.render(bottom + 48)
