import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")

application = get_wsgi_application()

# Everything loaded at start-up (Django, the apps, the URLconf and the views it imports) lives as
# long as the process: move it out of the garbage collector's reach, so that the collections
# requests trigger do not walk it. Without this a full collection paused a request for 60-70 ms
# about once in a hundred (docs/performance.md).
get_resolver().url_patterns  # noqa: B018 - import the URLconf now, not on the first request
gc.freeze()
