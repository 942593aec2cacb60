"""Task isolation on the native stack: a task holds none of the stack's credentials and cannot become admin."""

from __future__ import annotations

import pytest

from tests.isolation import check_a_task_cannot_become_admin

pytestmark = pytest.mark.integration


def test_a_task_sees_no_stack_credential_and_cannot_mint_an_admin_token(native_stack):
    check_a_task_cannot_become_admin(native_stack, native_stack.settings["AIRFLOW__API_AUTH__JWT_SECRET"])
