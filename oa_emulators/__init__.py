"""Emulators of the OA systems the adapters in ``pipeline.sync`` talk to, for tests and load runs.

One FastAPI app per OA (``weaver``, ``seeyon``, ``landray``, ``dingtalk``, ``wecom``, ``feishu``, ``generic``)
implementing the documented endpoints, auth and callback signatures of OA_INTEGRATION.md, with switchable faults
and an inspectable in-memory store (``core``). ``harness`` pairs each with its adapter. Not part of the installed
package: import it from the repository root (pytest's ``pythonpath = ["."]``).

Run one standalone: ``python -m oa_emulators weaver --port 8101``; adapter-level load check with random faults:
``python -m oa_emulators.loadcheck weaver --claims 300 --error 0.3 --timeout 0.05``.
"""
