# Imported by the note module with a relative import; imports base absolutely.
from ansible_collections.acme.tools.plugins.module_utils.base import PREFIX


def render(text):
    return PREFIX + text + "\n"
