"""Sending work to a worker without waiting on a broker that is down: against a real Redis, started
here on a port of its own, stopped and started again."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import redis
from celery import Celery
from kombu.exceptions import OperationalError

from core.workers import send_failing_fast


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        self.port, self.process = port, None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def queued(self) -> int:
        return redis.Redis(port=self.port).llen("celery")


@pytest.fixture
def broker():
    server = RedisServer(_free_port())
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def _task_on(port: int):
    app = Celery("sender", broker=f"redis://127.0.0.1:{port}/0")

    @app.task(name="tests.noop", shared=False)  # this app's alone, not every app's
    def noop(value):
        return value

    return noop


def test_a_send_to_a_broker_that_is_down_gives_up_at_once():
    task = _task_on(_free_port())  # nothing listens there

    started = time.monotonic()
    with pytest.raises(OperationalError):
        send_failing_fast(task, 1, ignore_result=True)

    # kombu's own connection would try again for about 6 s.
    assert time.monotonic() - started < 2


def test_sends_reach_the_broker_before_and_after_it_restarts(broker):
    task = _task_on(broker.port)
    send_failing_fast(task, 1, ignore_result=True)
    send_failing_fast(task, 2, ignore_result=True)
    assert broker.queued() == 2

    broker.stop()
    with pytest.raises(OperationalError):
        send_failing_fast(task, 3, ignore_result=True)
    broker.start()  # empty again: nothing saved
    send_failing_fast(task, 4, ignore_result=True)
    assert broker.queued() == 1

    broker.stop()
    broker.start()  # the connection kept from the last send is stale now
    send_failing_fast(task, 5, ignore_result=True)
    assert broker.queued() == 1


def test_each_broker_gets_its_own_connection(broker):
    other = RedisServer(_free_port())
    other.start()
    try:
        send_failing_fast(_task_on(broker.port), 1, ignore_result=True)
        send_failing_fast(_task_on(other.port), 2, ignore_result=True)
        send_failing_fast(_task_on(other.port), 3, ignore_result=True)

        assert (broker.queued(), other.queued()) == (1, 2)
    finally:
        other.stop()
