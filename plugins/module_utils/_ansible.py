# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The edge between AnsibleModule and the engine: the only place results are exited."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.underlay.network.plugins.module_utils import _runner
from ansible_collections.underlay.network.plugins.module_utils._errors import (
    MissingLibraryError,
    UnderlayError,
)


def execute(module, resource):
    """Run ``resource`` with the module's params and exit (or fail) the module."""
    try:
        result = _runner.run(resource, module.params, check_mode=module.check_mode, diff=module._diff)
    except MissingLibraryError as err:
        module.fail_json(msg=missing_required_lib(err.library),
                         exception="".join(traceback.format_exception_only(type(err.exception), err.exception)))
    except UnderlayError as err:
        failure = {"msg": str(err)}
        if err.field is not None:
            failure["field"] = err.field
        module.fail_json(**failure)
    for warning in result.pop("warnings", ()):
        module.warn(warning)
    module.exit_json(**result)
