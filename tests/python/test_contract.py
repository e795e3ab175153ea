# test_contract.py: the Python examples of DESIGN.md and of the original
# library's documentation, as they are written there
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc  # noqa: E402

import workers  # noqa: E402
from workers import echo_process as EchoProcess  # noqa: E402


def test_design_contract():
    pm, rm = Coproc.PriorityMessenger.new_pair()        # (process, resource)
    rm.send_request('hi'); assert pm.receive_blocking() == 'hi'  # noqa: E702
    rm.send_norequest({'text': 'x', 'priority': 0}, channel_id=1)
    rm.send_request_multiple([1, 2, 3])
    assert pm.receive_available() == [1, 2, 3]
    for v in [1, 2, 3]:
        pm.send_reply(v)
    # The 'hi' request has no reply yet: answer it too.
    pm.send_reply('hi')
    assert list(rm.receive_remaining()) == [1, 2, 3, 'hi']
    pm.send_error(ValueError('boom'))        # a Python peer raises ValueError('boom')
    with pytest.raises(ValueError, match='^boom$'):
        rm.available()
    assert (rm.remaining(), rm.available(), rm.receive_available(channel_id=2)) == (0, 0, [])
    assert pm.receive_available(1) == [{'text': 'x', 'priority': 0}]

    with Coproc.WorkerResource(EchoProcess) as w:   # a callable taking the messenger
        w.messenger.send_norequest('hello')
        assert w.messenger.receive_blocking() == 'hello'


@dataclasses.dataclass
class EchoProcess2(Coproc.BaseWorkerProcess):
    def __call__(self):
        while True:
            data = self.messenger.receive_blocking()
            self.messenger.send_reply(data)


def test_request_interface_example():
    # The original's example; `time.sleep(0.1)` was not needed.
    with Coproc.WorkerResource(EchoProcess2) as w:
        assert w.messenger.remaining() == 0
        assert w.messenger.send_request("hello") is None
        assert w.messenger.remaining() == 1
        assert w.messenger.receive_blocking() == 'hello'
        assert w.messenger.remaining() == 0

        assert [w.messenger.send_request(i) for i in range(3)] == [None, None, None]
        assert w.messenger.remaining() == 3
        assert list(w.messenger.receive_remaining()) == [0, 1, 2]


def test_base_worker_process_is_a_dataclass():
    assert dataclasses.is_dataclass(Coproc.BaseWorkerProcess)
    assert [f.name for f in dataclasses.fields(Coproc.BaseWorkerProcess)] == ['messenger']
    pm, rm = Coproc.PriorityMessenger.new_pair()
    assert workers.EchoProcess(pm, '!').messenger is pm
