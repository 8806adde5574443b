"""The API settings that point an app at an emulator: ``REIMBURSE_OA_OPTIONS`` as the operator would write them.

Contract: ``adapter_options(name, emulator, base_url) -> dict`` gives the options ``api.oa_config`` expects for
the adapter ``name`` talking to ``emulator`` (built by ``oa_emulators.harness.build_harness``) served at
``base_url``, with the emulator's credentials and callback secrets; ``mapping_file(name)`` the sample mapping the
emulator is configured like (None for the generic webhook). ``api_settings(name, emulator, base_url, **settings)``
returns ``api.settings.Settings`` with both, plus any other settings given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oa_emulators.core import OaEmulator
from oa_emulators.harness import SAMPLES


def adapter_options(name: str, emulator: OaEmulator, base_url: str) -> dict[str, Any]:
    e: Any = emulator
    if name == "generic_webhook":
        return {"url": base_url + "/webhook", "secret": e.webhook_secret, "callback_secret": e.callback_secret}
    if name == "weaver":
        return {"base_url": base_url, "app_id": e.app_id, "user_id": "1", "callback_secret": e.callback_secret}
    if name == "seeyon":
        return {"base_url": base_url, "rest_user": e.rest_user, "rest_password": e.rest_password,
                "login_name": "zhangsan", "callback_secret": e.callback_secret}
    if name in ("landray", "landray_soap"):
        return {"base_url": base_url, "username": e.username, "password": e.password,
                "callback_secret": e.callback_secret, "transport": "soap" if name == "landray_soap" else "rest"}
    if name == "dingtalk":
        return {"base_url": base_url, "app_key": e.app_key, "app_secret": e.app_secret,
                "callback_token": e.callback_token, "callback_aes_key": e.callback_aes_key,
                "callback_receive_id": e.app_key}
    if name == "wecom":
        return {"base_url": base_url, "corp_id": e.corp_id, "corp_secret": e.corp_secret,
                "callback_token": e.callback_token, "callback_aes_key": e.callback_aes_key}
    if name == "feishu":
        return {"base_url": base_url, "app_id": e.app_id, "app_secret": e.app_secret, "encrypt_key": e.encrypt_key,
                "verification_token": e.verification_token,
                "upload_url": base_url + "/approval/openapi/v2/file/upload"}
    raise ValueError(f"no settings for emulator {name!r}")


def adapter_name(name: str) -> str:
    """The registered adapter behind a harness name (``landray_soap`` is Landray over SOAP)."""
    return "landray" if name == "landray_soap" else name


def mapping_file(name: str) -> Path | None:
    return None if name == "generic_webhook" else SAMPLES / f"{adapter_name(name)}.yaml"


def api_settings(name: str, emulator: OaEmulator, base_url: str, **settings: Any) -> Any:
    from api.settings import Settings

    return Settings(oa_adapter=adapter_name(name), oa_options=adapter_options(name, emulator, base_url),
                    oa_mapping_file=mapping_file(name), **settings)


__all__ = ["adapter_name", "adapter_options", "api_settings", "mapping_file"]
