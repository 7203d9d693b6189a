"""In-memory replicas for the fleet benchmark (bench_fleet.py): what a replica's API server stores, served behind
ClusterClient._send, so that every verb an agent sends to its replica goes through the collection's real request
path (_do, run, _decode) and only the HTTP round trip is replaced.

Pure Python, no import of the collection (tests/bench/fleet_worker.py puts a ClusterClient in front of it):

* Base: the objects every replica of a worker process starts with (the converged replica: the Clusters as the
  agent writes them, its ConfigMaps), each kept once as compact JSON bytes and its labels, read-only, shared by
  all the replicas of the process;
* Replica: one replica, copy-on-write: a Base plus an overlay of its own writes and deletions (a few objects
  when it is converged), and its own resourceVersion counter. serve(method, path, query, body, content_type)
  answers as an API server does for what an agent asks: GET of an object (404 NotFound Status), list (label
  selector: =, ==, !=, in, notin, exists, !exists; field selector metadata.name / metadata.namespace; limit and
  continue), POST (409 AlreadyExists), PATCH as an RFC 7386 merge patch (a null deletes; 409 Conflict when the
  patch's metadata.resourceVersion is not the object's; a patch that changes nothing writes nothing), PUT (the
  resourceVersion guard; 404 when missing), DELETE, the status subresource, and a watch (no event: it ends at its
  timeoutSeconds, or when the replica is closed). A path of no known resource type is the plain 404 an API
  server gives ("404 page not found", a missing type). Every write sets metadata.resourceVersion (uid and
  creationTimestamp on create) and calls on_write(replica, key, object).

Query keys are ClusterClient's own names (limit, _continue, label_selector, field_selector, dry_run,
timeout_seconds, watch, ...): the store sits where the client would turn them into the API's spelling.
"""

import base64
import bisect
import io
import json
import re
import threading
import time
import uuid

MAX_KEY = "\U0010ffff"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class StoreError(Exception):
    """What an ApiException carries (status, reason, body, headers): the default error factory's exception."""

    def __init__(self, status, reason, body):
        super(StoreError, self).__init__("(%d) %s: %s" % (status, reason, body))
        self.status = status
        self.reason = reason
        self.body = body
        self.headers = {}


def default_error(status, reason, body):
    return StoreError(status, reason, body)


class Response(object):
    """A raw (not preloaded) urllib3 response, as ClusterClient._decode and kubernetes.watch read one."""

    def __init__(self, data, status=200):
        self.data = data
        self.status = status
        self.reason = "OK"
        self.headers = {"Content-Type": "application/json"}
        self._stream = io.BytesIO(data)

    def read(self, amt=None, **_kwargs):
        return self._stream.read() if amt is None else self._stream.read(amt)

    def stream(self, amt=65536, decode_content=None):
        while True:
            chunk = self._stream.read(amt or 65536)
            if not chunk:
                return
            yield chunk

    def getheaders(self):
        return self.headers

    def getheader(self, name, default=None):
        return self.headers.get(name, default)

    def release_conn(self):
        pass

    def close(self):
        pass


class Resources(object):
    """The resource types a replica serves: {(group version, plural): (kind, namespaced)}, their subresources,
    and the plural of each (apiVersion, kind)."""

    def __init__(self, types, subresources=()):
        self.types = {}
        self.plural_of = {}
        for group_version, plural, kind, namespaced in types:
            self.types[(group_version, plural)] = (kind, bool(namespaced))
            self.plural_of[(group_version, kind)] = plural
        self.subresources = set(subresources)  # (group version, plural, subresource)

    def key_of(self, obj):
        """(group version, plural, namespace or '', name) of an object dict."""
        group_version, kind = obj.get("apiVersion"), obj.get("kind")
        plural = self.plural_of.get((group_version, kind))
        if plural is None:
            raise ValueError("no resource type for %s %s" % (group_version, kind))
        meta = obj.get("metadata") or {}
        namespaced = self.types[(group_version, plural)][1]
        return group_version, plural, (meta.get("namespace") or "") if namespaced else "", meta["name"]


def parse_path(path):
    """(group version, plural, namespace or None, name or None, subresource or None) of an API path; None for a
    path that is not a resource's."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group_version, rest = parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group_version, rest = parts[1] + "/" + parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return group_version, rest[0], namespace, (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)


# --- selectors -------------------------------------------------------------------------------------------------

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_requirements(text):
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """[(key, operator, values)] of a label selector; ValueError when it cannot be read."""
    requirements = []
    for part in _split_requirements(text or ""):
        found = _SET_RE.match(part)
        if found:
            values = frozenset(v.strip() for v in found.group(3).split(",") if v.strip())
            requirements.append((found.group(1), found.group(2), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            requirements.append((key.strip(), "!=", value.strip()))
        elif "==" in part:
            key, value = part.split("==", 1)
            requirements.append((key.strip(), "=", value.strip()))
        elif "=" in part:
            key, value = part.split("=", 1)
            requirements.append((key.strip(), "=", value.strip()))
        elif part.startswith("!"):
            requirements.append((part[1:].strip(), "!exists", None))
        elif re.match(r"^[A-Za-z0-9._/-]+$", part):
            requirements.append((part, "exists", None))
        else:
            raise ValueError("unable to parse requirement: %r" % part)
    return requirements


def labels_match(requirements, labels):
    for key, operator, value in requirements:
        present = key in labels
        if operator == "=" and labels.get(key) != value:
            return False
        if operator == "!=" and present and labels[key] == value:
            return False
        if operator == "in" and (not present or labels[key] not in value):
            return False
        if operator == "notin" and present and labels[key] in value:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!exists" and present:
            return False
    return True


def parse_field_selector(text):
    """[(field, operator, value)] for metadata.name and metadata.namespace; ValueError for any other field."""
    requirements = []
    for part in _split_requirements(text or ""):
        for operator in ("!=", "==", "="):
            if operator in part:
                field, value = (s.strip() for s in part.split(operator, 1))
                break
        else:
            raise ValueError("invalid field selector: %r" % part)
        if field not in ("metadata.name", "metadata.namespace"):
            raise ValueError('field label not supported: %s' % field)
        requirements.append((field, "!=" if operator == "!=" else "=", value))
    return requirements


def fields_match(requirements, namespace, name):
    for field, operator, value in requirements:
        actual = name if field == "metadata.name" else namespace
        if (actual == value) != (operator == "="):
            return False
    return True


# --- merge patch -----------------------------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386: *patch* applied to *target* (neither changed); a null in the patch deletes the key."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- the store -----------------------------------------------------------------------------------------------

class Base(object):
    """The objects all replicas of a process start with: {key: (JSON bytes, labels)}, the sorted (namespace,
    name) of each resource type, and the highest resourceVersion among them. Read-only once made."""

    def __init__(self, resources, objects=()):
        self.resources = resources
        self.objects = {}
        keys = {}
        self.version = 0
        for obj in objects:
            key = resources.key_of(obj)
            meta = obj.setdefault("metadata", {})
            try:
                self.version = max(self.version, int(meta.get("resourceVersion") or 0))
            except ValueError:
                pass
            self.objects[key] = (dumps(obj), dict(meta.get("labels") or {}))
            keys.setdefault(key[:2], []).append(key[2:])
        self.keys = dict((collection, sorted(found)) for collection, found in keys.items())

    @classmethod
    def load(cls, resources, path):
        """From a file of one JSON object a line (Replica.dump)."""
        with open(path, "rb") as handle:
            return cls(resources, (json.loads(line) for line in handle if line.strip()))


def _status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return json.dumps(body)


_REASONS = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            415: "Unsupported Media Type", 422: "Unprocessable Entity"}

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


class Replica(object):
    """One replica's store: a shared Base and this replica's own writes (copy on write). Thread-safe.

    requests: the requests it served; verbs: {METHOD or 'LIST' or 'WATCH': count}. on_write(replica, key, obj):
    called after each write with the object as stored (None for a deletion)."""

    def __init__(self, base, on_write=None, error=default_error, clock=time.time, name="replica"):
        self.base = base
        self.resources = base.resources
        self.name = name
        self.overlay = {}  # key: (bytes, labels), or None when deleted
        self.added = {}    # (group version, plural): {(namespace, name)} of objects not in the base
        self.removed = {}  # (group version, plural): {(namespace, name)} of the base's objects deleted
        self._sorted = {}  # (group version, plural): sorted keys with the overlay applied (a cache)
        self.version = base.version
        self.requests = 0
        self.verbs = {}
        self.on_write = on_write
        self._error = error
        self._clock = clock
        self._lock = threading.RLock()
        self.closed = threading.Event()  # ends the replica's open watches

    # --- reading --------------------------------------------------------------------------------------------
    def _entry(self, key):
        if key in self.overlay:
            return self.overlay[key]
        return self.base.objects.get(key)

    def get_object(self, key):
        entry = self._entry(key)
        return None if entry is None else json.loads(entry[0])

    def _keys(self, collection):
        added, removed = self.added.get(collection), self.removed.get(collection)
        base = self.base.keys.get(collection, [])
        if not added and not removed:
            return base
        cached = self._sorted.get(collection)
        if cached is None:
            cached = sorted((set(base) - (removed or set())) | (added or set()))
            self._sorted[collection] = cached
        return cached

    def count(self, group_version, plural, namespace=None):
        keys = self._keys((group_version, plural))
        if namespace is None:
            return len(keys)
        return bisect.bisect_right(keys, (namespace, MAX_KEY)) - bisect.bisect_left(keys, (namespace, ""))

    def objects(self):
        """Every object the replica holds, as dicts."""
        collections = set(self.base.keys) | set(self.added)
        for collection in sorted(collections):
            for namespace, name in self._keys(collection):
                yield self.get_object(collection + (namespace, name))

    def size(self):
        """Bytes of JSON the replica holds (the base's objects it still has, and its own)."""
        total = 0
        for collection in set(self.base.keys) | set(self.added):
            for namespace, name in self._keys(collection):
                total += len(self._entry(collection + (namespace, name))[0])
        return total

    def dump(self, path):
        """Write every object, one JSON object a line (Base.load reads it)."""
        with open(path, "wb") as handle:
            with self._lock:
                for collection in sorted(set(self.base.keys) | set(self.added)):
                    for namespace, name in self._keys(collection):
                        handle.write(self._entry(collection + (namespace, name))[0] + b"\n")

    def close(self):
        self.closed.set()

    # --- writing --------------------------------------------------------------------------------------------
    def _put(self, key, obj):
        collection, short = key[:2], key[2:]
        if obj is None:
            self.overlay[key] = None
            if short in self.added.get(collection, ()):
                self.added[collection].discard(short)
            else:
                self.removed.setdefault(collection, set()).add(short)
            self._sorted.pop(collection, None)
        else:
            if self._entry(key) is None:
                if short in self.removed.get(collection, ()):
                    self.removed[collection].discard(short)
                else:
                    self.added.setdefault(collection, set()).add(short)
                self._sorted.pop(collection, None)
            self.overlay[key] = (dumps(obj), dict((obj.get("metadata") or {}).get("labels") or {}))
        if self.on_write is not None:
            self.on_write(self, key, obj)

    def _next_version(self):
        self.version += 1
        return str(self.version)

    # --- errors ---------------------------------------------------------------------------------------------
    def _fail(self, code, reason, message, details=None):
        return self._error(code, _REASONS.get(code, reason), _status(code, reason, message, details))

    def _not_found(self, group_version, plural, name):
        group = group_version.rpartition("/")[0]
        resource = plural + ("." + group if group else "")
        return self._fail(404, "NotFound", '%s "%s" not found' % (resource, name),
                          {"name": name, "group": group, "kind": plural})

    # --- serving ----------------------------------------------------------------------------------------------
    def serve(self, method, path, query=None, body=None, content_type=None):
        """Answer one request: a Response, or raise what error(status, reason, body) makes."""
        query = dict(query or {})
        with self._lock:
            self.requests += 1
            verb = method
            parsed = parse_path(path)
            if parsed is not None and method == "GET" and parsed[3] is None:
                verb = "WATCH" if query.get("watch") else "LIST"
            self.verbs[verb] = self.verbs.get(verb, 0) + 1
        if parsed is None or (parsed[0], parsed[1]) not in self.resources.types:
            raise self._error(404, "Not Found", "404 page not found\n")
        group_version, plural, namespace, name, sub = parsed
        kind, namespaced = self.resources.types[(group_version, plural)]
        if sub is not None and (group_version, plural, sub) not in self.resources.subresources:
            raise self._error(404, "Not Found", "404 page not found\n")
        if not namespaced and namespace is not None:
            raise self._error(404, "Not Found", "404 page not found\n")
        if namespaced and namespace is None and (name is not None or method != "GET"):
            raise self._error(404, "Not Found", "404 page not found\n")
        dry = query.get("dry_run") == "All"
        if method == "GET" and name is None:
            if query.get("watch"):
                return self._watch(query)
            return self._list(group_version, plural, kind, namespace, query)
        key = (group_version, plural, namespace or "", name)
        with self._lock:
            if method == "GET":
                entry = self._entry(key)
                if entry is None:
                    raise self._not_found(group_version, plural, name)
                return Response(entry[0])
            if method == "POST" and name is None:
                return self._create(group_version, plural, kind, namespace, body, dry)
            if name is None:
                raise self._fail(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                 "resource")
            if method == "PATCH":
                return self._patch(key, sub, body, content_type, dry)
            if method == "PUT":
                return self._replace(key, sub, body, dry)
            if method == "DELETE":
                return self._delete(key, dry)
        raise self._fail(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _list(self, group_version, plural, kind, namespace, query):
        try:
            labels = parse_label_selector(query.get("label_selector"))
            fields = parse_field_selector(query.get("field_selector"))
        except ValueError as exc:
            raise self._fail(400, "BadRequest", str(exc))
        limit = query.get("limit")
        limit = int(limit) if limit not in (None, "", 0, "0") else None
        with self._lock:
            keys = self._keys((group_version, plural))
            low, high = 0, len(keys)
            if namespace is not None:
                low = bisect.bisect_left(keys, (namespace, ""))
                high = bisect.bisect_right(keys, (namespace, MAX_KEY))
            start = low
            token = query.get("_continue")
            if token:
                try:
                    after = tuple(json.loads(base64.urlsafe_b64decode(token.encode("ascii"))))
                except (ValueError, TypeError):
                    raise self._fail(400, "BadRequest", "continue key is not valid")
                start = bisect.bisect_right(keys, after, low, high)
            items, index = [], start
            while index < high and (limit is None or len(items) < limit):
                short = keys[index]
                index += 1
                entry = self._entry((group_version, plural) + short)
                if entry is None:
                    continue
                if labels and not labels_match(labels, entry[1]):
                    continue
                if fields and not fields_match(fields, short[0], short[1]):
                    continue
                items.append(entry[0])
            meta = {"resourceVersion": str(self.version)}
            if index < high:
                meta["continue"] = base64.urlsafe_b64encode(dumps(list(keys[index - 1]))).decode("ascii")
            version = group_version
        head = dumps({"apiVersion": version, "kind": kind + "List", "metadata": meta})[:-1]
        return Response(head + b',"items":[' + b",".join(items) + b"]}")

    def _watch(self, query):
        """A watch with no event: it ends at its timeoutSeconds (or when the replica is closed)."""
        timeout = float(query.get("timeout_seconds") or 60)
        self.closed.wait(timeout)
        return Response(b"")

    def _stamp_new(self, obj):
        meta = obj.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock()))
        meta["resourceVersion"] = self._next_version()
        meta.pop("managedFields", None)

    def _create(self, group_version, plural, kind, namespace, body, dry):
        obj = json.loads(dumps(body or {}))
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise self._fail(422, "Invalid", "%s is invalid: metadata.name: Required value: name is required" % kind)
        if namespace is not None:
            if meta.get("namespace") not in (None, namespace):
                raise self._fail(400, "BadRequest", "the namespace of the provided object does not match the "
                                 "namespace sent on the request")
            meta["namespace"] = namespace
        key = (group_version, plural, namespace or "", name)
        if self._entry(key) is not None:
            group = group_version.rpartition("/")[0]
            raise self._fail(409, "AlreadyExists", '%s "%s" already exists' % (
                plural + ("." + group if group else ""), name), {"name": name, "group": group, "kind": plural})
        if dry:
            return Response(dumps(obj), 201)
        self._stamp_new(obj)
        if (group_version, plural, "status") in self.resources.subresources:
            obj.pop("status", None)
        self._put(key, obj)
        return Response(self.overlay[key][0], 201)

    def _check_version(self, given, current):
        if given not in (None, "") and str(given) != current["metadata"].get("resourceVersion"):
            raise self._fail(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                             'modified; please apply your changes to the latest version and try again' % (
                                 current.get("kind"), current["metadata"].get("name")),
                             {"name": current["metadata"].get("name")})

    def _finish_update(self, key, sub, current, new, dry):
        """Store *new* (from *current*) unless it changes nothing; the server-owned fields are kept."""
        has_status = key[:2] + ("status",) in self.resources.subresources
        if sub == "status":
            new = dict(current, status=new.get("status"))
        elif has_status:
            new = dict(new)
            if "status" in current:
                new["status"] = current["status"]
            else:
                new.pop("status", None)
        meta = dict(new.get("metadata") or {})
        for field in ("name", "namespace", "uid", "creationTimestamp"):
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
        meta["resourceVersion"] = current["metadata"].get("resourceVersion")
        new["metadata"] = meta
        if new.get("status", None) is None and "status" in new:
            new.pop("status")
        if new == current or dry:
            return Response(dumps(new if dry else current))
        meta["resourceVersion"] = self._next_version()
        self._put(key, new)
        return Response(self.overlay[key][0])

    def _patch(self, key, sub, body, content_type, dry):
        if content_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
            raise self._fail(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                             "accepted media types include: application/merge-patch+json")
        current = self.get_object(key)
        if current is None:
            raise self._not_found(key[0], key[1], key[3])
        patch = json.loads(dumps(body or {}))
        self._check_version((patch.get("metadata") or {}).get("resourceVersion"), current)
        return self._finish_update(key, sub, current, merge_patch(current, patch), dry)

    def _replace(self, key, sub, body, dry):
        current = self.get_object(key)
        if current is None:
            raise self._not_found(key[0], key[1], key[3])
        new = json.loads(dumps(body or {}))
        self._check_version((new.get("metadata") or {}).get("resourceVersion"), current)
        return self._finish_update(key, sub, current, new, dry)

    def _delete(self, key, dry):
        current = self.get_object(key)
        if current is None:
            raise self._not_found(key[0], key[1], key[3])
        if not dry:
            self._next_version()
            self._put(key, None)
        return Response(dumps(current))
