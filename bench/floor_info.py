"""The fleet's floor: a bare asyncio client that sends a fleet run's info requests and reads the
answers, with no more parsing than choosing the next request needs.

Run by bench/fleet_scale.py as its own process:
``floor_info.py --seed PORT --ports P1,P2,… [--concurrency 64]``. Like ``ascad fleet --discover``
it asks the seed for ``peers-clear-std``, then reads every node in the same three rounds as
``ascad.runtime.snapshot.take_snapshot`` (identity and flat contexts; namespaces, sets, log
sinks and dcs; dc namespaces), one connection per node, ``--concurrency`` nodes at a time. It
exits non-zero if any node did not answer, so a broken floor is never a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys

HEADER = struct.Struct(">Q")  # version 2, type 1 (info), 48-bit length
FIRST = [
    "node",
    "build",
    "release",
    "cluster-name",
    "namespaces",
    "logs",
    "get-config:context=service",
    "get-config:context=network",
    "get-config:context=security",
    "get-config:context=xdr",
]


async def ask(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, commands: list[str]
) -> dict[str, str]:
    body = "".join(f"{c}\n" for c in commands).encode()
    writer.write(HEADER.pack((2 << 56) | (1 << 48) | len(body)) + body)
    (word,) = HEADER.unpack(await reader.readexactly(8))
    reply = (await reader.readexactly(word & 0xFFFFFFFFFFFF)).decode()
    out = {}
    for line in reply.split("\n"):
        name, tab, value = line.partition("\t")
        if tab:
            out[name] = value
    return out


async def read_node(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        a = await ask(reader, writer, FIRST)
        namespaces = [n for n in a.get("namespaces", "").split(";") if n]
        sinks = [s.partition(":")[0] for s in a.get("logs", "").split(";") if s]
        dcs = [
            d
            for kv in a.get("get-config:context=xdr", "").split(";")
            if kv.startswith("dcs=")
            for d in kv[4:].split(",")
            if d
        ]
        second = [f"get-config:context=namespace;namespace={n}" for n in namespaces]
        second += [f"sets/{n}" for n in namespaces]
        second += [f"log/{s}" for s in sinks]
        second += [f"get-config:context=xdr;dc={d}" for d in dcs]
        b = await ask(reader, writer, second) if second else {}
        third = [
            f"get-config:context=xdr;dc={d};namespace={n}"
            for d in dcs
            for kv in b.get(f"get-config:context=xdr;dc={d}", "").split(";")
            if kv.startswith("namespaces=")
            for n in kv[len("namespaces=") :].split(",")
            if n
        ]
        c = await ask(reader, writer, third) if third else {}
        return len(a) + len(b) + len(c)
    finally:
        writer.close()


async def main(seed: int, ports: list[int], concurrency: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", seed)
    peers = await ask(reader, writer, ["peers-clear-std"])
    writer.close()
    if not peers.get("peers-clear-std"):
        print("floor: the seed gave no peers-clear-std", file=sys.stderr)
        return 1
    sem = asyncio.Semaphore(concurrency)

    async def one(port: int) -> int:
        async with sem:
            return await read_node(port)

    answers = await asyncio.gather(*(one(p) for p in ports))
    if not all(answers):
        print("floor: a node gave no answers", file=sys.stderr)
        return 1
    print(sum(answers))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--ports", required=True)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    sys.exit(
        asyncio.run(main(args.seed, [int(p) for p in args.ports.split(",")], args.concurrency))
    )
