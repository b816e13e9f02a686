"""The framed protocol (qxub.protocol): whatever a job prints, cut wherever the network cuts it,
the laptop writes exactly the job's bytes to the right stream, and events only come from
qxub's own frames."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from qxub import protocol

# Bytes a job might print that look like protocol: the v1 marker, START, frame headers.
TRICKY = st.sampled_from(
    [
        protocol.V1_MARKER + b"finished 0\n",
        protocol.START,
        protocol.START[:5],
        protocol.frame(protocol.EVENT, b"finished 0"),
        protocol.frame(protocol.EVENT, b"submitted 99.other local")[:7],
        b"\x00\x00\x00\x05",
        b"\n",
        b"v",
    ]
)
CHUNK = st.one_of(st.binary(max_size=300), TRICKY)
PIECE = st.tuples(st.sampled_from([protocol.STDOUT, protocol.STDERR]), CHUNK)


def decode(stream: bytes, cuts: list[int]) -> tuple[bytes, bytes, list[str], bytes]:
    out, err, events, preamble = bytearray(), bytearray(), list[str](), bytearray()

    def on_frame(kind: int, payload: bytes | bytearray | memoryview) -> None:
        if kind == protocol.STDOUT:
            out.extend(payload)
        elif kind == protocol.STDERR:
            err.extend(payload)
        elif kind == protocol.EVENT:
            events.append(bytes(payload).decode())

    decoder = protocol.FrameDecoder(on_frame, preamble.extend)
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        decoder.feed(stream[start:cut])
        start = max(start, cut)
    return bytes(out), bytes(err), events, bytes(preamble)


@settings(max_examples=300, deadline=None)
@given(
    shell=st.binary(max_size=50).filter(lambda b: protocol.START not in b and b"\x1e" not in b),
    pieces=st.lists(PIECE, max_size=30),
    cut_fractions=st.lists(st.floats(min_value=0, max_value=1), max_size=20),
)
def test_job_bytes_pass_through_exactly_and_never_become_events(
    shell: bytes, pieces: list[tuple[int, bytes]], cut_fractions: list[float]
) -> None:
    stream = bytearray(shell + protocol.START)
    stream += protocol.frame(protocol.EVENT, b"hello 1.0 2")
    for kind, data in pieces:
        stream += protocol.frame(kind, data)
    stream += protocol.frame(protocol.EVENT, b"finished 5")
    cuts = [int(f * len(stream)) for f in cut_fractions]
    out, err, events, preamble = decode(bytes(stream), cuts)
    assert out == b"".join(data for kind, data in pieces if kind == protocol.STDOUT)
    assert err == b"".join(data for kind, data in pieces if kind == protocol.STDERR)
    assert events == ["hello 1.0 2", "finished 5"]
    assert preamble == shell


def test_decoding_is_linear_in_the_input() -> None:
    """100 MB of short lines in 64 KiB reads, and one long line: well under the time a
    quadratic decoder takes (v1's took seconds per 100 MB)."""
    lines = b"".join(b"line %d\n" % i for i in range(2000))
    framed = protocol.START + protocol.frame(protocol.STDOUT, lines) * 100
    long_line = protocol.START + protocol.frame(protocol.STDOUT, b"x" * (1 << 20)) * 100
    for stream in (framed, long_line):
        seen: list[int] = []
        decoder = protocol.FrameDecoder(lambda kind, payload, seen=seen: seen.append(kind))
        began = time.perf_counter()
        for at in range(0, len(stream), 65536):
            decoder.feed(stream[at : at + 65536])
        took = time.perf_counter() - began
        assert len(seen) == 100
        assert took < 2.0, f"{len(stream) / 1e6:.0f} MB decoded in {took:.2f}s"


def test_whole_frames_stops_before_an_unfinished_frame() -> None:
    two = protocol.frame(protocol.STDOUT, b"abc") + protocol.frame(protocol.STDERR, b"de")
    assert protocol.whole_frames(two) == len(two)
    assert protocol.whole_frames(two[:-1]) == len(protocol.frame(protocol.STDOUT, b"abc"))
    assert protocol.whole_frames(two[:3]) == 0
