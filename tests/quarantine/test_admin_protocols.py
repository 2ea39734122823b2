"""Headquarters adds a protocol version from a file in the admin; a malformed file is refused with the reason."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from closedloop.core.models import AuditEvent
from closedloop.quarantine.models import Protocol


def _file(name, data):
    return SimpleUploadedFile(name, json.dumps(data, ensure_ascii=False).encode(), content_type="application/json")


def test_admin_adds_a_new_version_and_refuses_a_bad_one(client, admin_user):
    client.force_login(admin_user)
    current = Protocol.objects.get(code="cn-9-close-contact", version=1).definition
    new = {**current, "version": 2, "effective_from": "2022-12-01"}
    response = client.post("/admin/quarantine/protocol/add/", {"file": _file("cn-9-close-contact.v2.json", new)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Protocol.objects.filter(code="cn-9-close-contact", version=2).exists()
    assert AuditEvent.objects.filter(action="protocol.add", actor=admin_user).exists()

    bad = {**current, "version": 3, "phases": [{"kind": "centralized", "days": 3, "tests": [1, 4]}]}
    response = client.post("/admin/quarantine/protocol/add/", {"file": _file("cn-9-close-contact.v3.json", bad)},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "outside the phase" in response.content.decode()
    assert not Protocol.objects.filter(version=3).exists()

    again = client.post("/admin/quarantine/protocol/add/", {"file": _file("cn-9-close-contact.v2.json", new)},
                        HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 200 and "already exists" in again.content.decode()
