"""Callback URLs may not point into the service's own network unless allowed: one rule, read
the way the resolver reads hosts, at create (422) and before each delivery (the callback ends).

No test here sends a packet past loopback: addresses are judged without the resolver, and the
only names resolved are in /etc/hosts (or refused by the resolver before any lookup).
"""

from __future__ import annotations

import socket
from ipaddress import ip_address
from pathlib import Path

import pytest

from src.callbacks.destinations import (
    NOT_PUBLIC,
    RESOLVES_PRIVATE,
    THIS_MACHINE,
    is_public,
    parse_address,
    problem,
)
from src.db.models import CallbackAttempt, Task
from tests.support.app import eventually, make_settings, register, running_app
from tests.support.images import png

I2V = "/api/higgsfield/i2v/"
LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:9/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0X7F000001/hook",
    "http://0177.0.0.1/hook",
    "http://017700000001/hook",
    "http://0x7f.1/hook",
    "http://127.1/hook",
    "http://127.0.1/hook",
    "http://127.0.0.1./hook",
    "http://127.1../hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]:8080/hook",
    "http://[::127.0.0.1]/hook",
    "http://[::1]/hook",
    "http://user:secret@127.1:80/hook",
    "http://127。0。0。1/hook",  # ideographic full stops: the HTTP client's IDNA makes them dots
    "http://0/hook",  # 0.0.0.0: Linux connects it to this machine
]
PUBLIC_LITERAL = "http://93.184.215.14/hook"


def hosts_file_name() -> str:
    """A name /etc/hosts gives a private or loopback address, other than the localhost names
    the check refuses without asking the resolver; resolving it sends nothing on the network."""
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or parse_address(fields[0]) is None or is_public(parse_address(fields[0])):
            continue
        for name in fields[1:]:
            if "localhost" not in name.lower() and parse_address(name) is None:
                return name
    pytest.skip("/etc/hosts names no private address besides localhost")


# The host parser, alone.


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.0.0.0x1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("127.0.0.1..", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address judged, nothing binds to it
        ("10.1", "10.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("3232235777", "192.168.1.1"),
        ("93.184.215.14", "93.184.215.14"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::FFFF:7F00:1]", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%25eth0", "fe80::1"),
    ],
)
def test_address_spellings_are_read_as_the_resolver_reads_them(host, address):
    assert parse_address(host) == ip_address(address)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "hooks.example.com.",
        "localhost",
        "127.0.0.1.example.com",
        "1.2.3.4.5",
        "4294967296",
        "0x100000000",
        "256.0.0.1",
        "08.0.0.1",  # 08 is not octal: the resolver refuses it too
        "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits
        "127.0.0.1\x00",
        "::ffff:127.0.0.1:80",
        "",
    ],
)
def test_names_and_non_addresses_are_not_read_as_addresses(host):
    assert parse_address(host) is None


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f000001", "0177.0.0.1", "017700000001", "0x7f.1", "127.1", "127.0.1", "0", "10.1"],
)
def test_the_parser_agrees_with_the_system_resolver(host):
    """The resolver's own reading of the numeric forms (AI_NUMERICHOST: no lookup is made)."""
    infos = socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    assert {ip_address(info[4][0]) for info in infos} == {parse_address(host)}


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address judged, nothing binds to it
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "192.0.2.1",
        "224.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a00:1::",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "ff02::1",
    ],
)
def test_private_local_and_special_addresses_are_not_public(address):
    assert not is_public(ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_public_addresses_are_public(address):
    assert is_public(ip_address(address))


# The one rule for a URL, as create and delivery apply it.


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
async def test_every_spelling_of_loopback_is_refused(url):
    assert await problem(url, resolve_within=2) == NOT_PUBLIC


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://3232235777/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://0xa9fea9fe/latest/meta-data",
        "http://[fd00::1]/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://[::ffff:169.254.169.254]/latest",
        "http://[64:ff9b::a9fe:a9fe]/latest",
    ],
)
async def test_private_addresses_are_refused(url):
    assert await problem(url, resolve_within=2) == NOT_PUBLIC


@pytest.mark.parametrize(
    "url", ["http://localhost/hook", "http://LOCALHOST./hook", "http://api.localhost:8080/hook"]
)
async def test_localhost_names_are_refused_without_the_resolver(url):
    assert await problem(url, resolve_within=2) == THIS_MACHINE


@pytest.mark.parametrize(
    "url", [PUBLIC_LITERAL, "https://1572395790/hook", "http://[2606:4700::1111]:8443/hook", None, ""]
)
async def test_public_addresses_pass(url):
    assert await problem(url, resolve_within=2) is None


async def test_a_name_resolving_to_a_private_address_is_refused():
    name = hosts_file_name()
    assert await problem(f"http://{name}:8080/hook", resolve_within=2) == RESOLVES_PRIVATE
    assert await problem(f"https://{name.upper()}/hook", resolve_within=2) == RESOLVES_PRIVATE


async def test_a_name_the_resolver_cannot_resolve_passes():
    """The resolver refuses a label over 63 characters before any lookup; delivery attempts
    to such a name fail like those to any unreachable host."""
    assert await problem(f"https://{'x' * 64}.example/hook", resolve_within=2) is None


# Through the API, on both databases.


async def create(client, key: str, callback_url: str):
    return await client.post(
        I2V,
        headers={"X-API-KEY": key},
        files={"image": ("a.png", png(), "image/png")},
        data={"callback_url": callback_url},
    )


async def test_create_refuses_every_private_spelling_and_stores_nothing(db_url, fake):
    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    urls = [
        *LOOPBACK_SPELLINGS,
        "http://169.254.169.254/latest/meta-data",
        "http://localhost./hook",
        f"http://{hosts_file_name()}:9/hook",
    ]
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        for url in urls:
            response = await create(client, key, url)
            assert response.status_code == 422, (url, response.text)
            [detail] = response.json()["detail"]
            assert detail["loc"] == ["body", "callback_url"], url
            assert "callback_url" in detail["msg"], url
        assert await Task.all().count() == 0
        assert fake.uploads == []


async def test_create_accepts_a_public_literal_address(db_url, fake):
    fake.settings.reads_per_step = None  # the job never ends here, so no callback is ever sent
    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    async with running_app(settings) as (_app, client):
        key = (await register(client))["api_key"]
        response = await create(client, key, PUBLIC_LITERAL)
        assert response.status_code == 202, response.text
        assert response.json()["callback"] == {
            "url": PUBLIC_LITERAL,
            "delivered": False,
            "attempts": 0,
            "last_status": None,
            "error": None,
        }
        assert await Task.filter(callback_url=PUBLIC_LITERAL).count() == 1


async def test_a_callback_refused_at_delivery_ends_at_once_with_the_reason(db_url, fake, receiver):
    """A task created while CALLBACK_ALLOW_PRIVATE was on ends after it was turned off: its
    host (a name resolving to this machine) is refused once, with the reason on the task, and
    never tried again."""
    url = f"http://{hosts_file_name()}:{receiver.url.rsplit(':', 1)[1]}/hook"
    fake.settings.reads_per_step = None  # the job ends only when the test says so
    async with running_app(make_settings(db_url, fake.url, callback_allow_private=True)) as (_app, client):
        key = (await register(client))["api_key"]
        response = await create(client, key, url)
        assert response.status_code == 202, response.text
        task_id = response.json()["id"]

        async def queued() -> Task | None:
            task = await Task.get(id=task_id)
            return task if task.upstream_job_id else None

        job_id = (await eventually(queued, what="the task to reach Higgsfield")).upstream_job_id

    settings = make_settings(db_url, fake.url, callback_allow_private=False)
    async with running_app(settings) as (state, client):
        fake.finish(job_id)

        async def ended() -> dict | None:
            answer = (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()
            return answer if answer["callback"]["error"] else None

        task = await eventually(ended, what="the callback to be refused")
        for _ in range(3):  # the job runs again: nothing is due
            await state["jobs"].callbacks.run()
        again = (await client.get(f"{I2V}{task_id}", headers={"X-API-KEY": key})).json()
        row = await Task.get(id=task_id)
        attempts = await CallbackAttempt.filter(task_id=task_id).values_list("status_code", "error")

    assert task["status"] == "completed"
    assert task["callback"] == {
        "url": url,
        "delivered": False,
        "attempts": 1,
        "last_status": None,
        "error": RESOLVES_PRIVATE,
    }
    assert again["callback"] == task["callback"]
    assert row.callback_due_at is None
    assert [tuple(attempt) for attempt in attempts] == [(None, RESOLVES_PRIVATE)]
    assert receiver.hits() == []
