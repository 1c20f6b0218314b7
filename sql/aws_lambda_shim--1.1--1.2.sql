-- aws_lambda_shim 1.1 -> 1.2: https endpoints verified against CA certificates of this database's own.
--
-- 1.1 verified an https endpoint against the system's CAs only, so a function host with a
-- certificate from a private CA (`pgs3v functions serve --tls-cert`) could not be called. The
-- settings gain ca_certificates: the PEM text of the CAs to trust (NULL: the system's). The
-- certificates themselves are stored, not a file name, because the file would have to be readable
-- by the database server's OS user on the database server, which `pgs3v schema install` (often on
-- another machine, or as root with files in 0700 directories) cannot arrange; CA certificates are
-- public, and the table is readable by the owner role only anyway. Verification stays always on:
-- the certificate's chain, dates and names (CERT_REQUIRED, check_hostname). A certificate that
-- does not verify is its own error (SQLSTATE 08001) naming the reason and how to trust its CA.
--
-- configure() gains ca_certificates (default NULL) and configuration() shows it. ssl is still
-- imported only by a session's first https call.
--
-- Apply with `pgs3v schema install`, or after aws_lambda_shim--1.0--1.1.sql:
--     psql -v ON_ERROR_STOP=1 -f sql/aws_lambda_shim--1.1--1.2.sql

BEGIN;

ALTER TABLE aws_lambda_shim.settings ADD COLUMN IF NOT EXISTS ca_certificates text
    CHECK (ca_certificates IS NULL OR ca_certificates LIKE '%-----BEGIN CERTIFICATE-----%');

CREATE OR REPLACE FUNCTION aws_lambda_shim.invoke_text(
    function_name text,
    payload text,
    region text,
    invocation_type text,
    log_type text,
    context text,
    qualifier text,
    OUT status_code integer,
    OUT response_payload text,
    OUT executed_version text,
    OUT log_result text,
    OUT error_sqlstate text,
    OUT error_message text,
    OUT error_detail text,
    OUT error_hint text)
LANGUAGE plpython3u VOLATILE
SET search_path = pg_catalog, pg_temp
AS $python$
# The helpers are built once per backend and kept in GD (keyed by version, so an upgraded shim
# never runs stale code), together with one kept-alive connection per endpoint.
shim = GD.get("aws_lambda_shim/1.2")
if shim is None:
    # Only what every call needs, because a new session pays for each import on its first call
    # (see the header of this script for the measurements).
    import _socket
    import hashlib
    import hmac
    import time

    # Lambda's FunctionName and Qualifier patterns (botocore's lambda model), checked by
    # PostgreSQL in the settings query (Python's re would cost 5 ms to import). Validating them
    # also keeps anything but a plain path segment out of the request line.
    SETTINGS_QUERY = (
        "SELECT s.endpoint_url, s.region, s.access_key_id, s.secret_access_key, s.timeout_seconds,"
        " s.ca_certificates,"
        r" $1 ~ '^(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-[0-9]:)?"
        r"([0-9]{12}:)?(function:)?([a-zA-Z0-9_.-]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9_-]+))?$' AS valid_name,"
        r" substring($1 from '^arn:[^:]*:lambda:((?:eusc-)?[a-z]{2}[a-z0-9-]*-[0-9]):') AS arn_region,"
        r" $2 ~ '^(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9_$-]+)$' AS valid_qualifier"
        " FROM aws_lambda_shim.settings AS s")
    REGION_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
    UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
    STATUS_BY_TYPE = {"RequestResponse": 200, "Event": 202, "DryRun": 204}
    LOG_TYPES = ("None", "Tail")
    MAX_CLIENT_CONTEXT = 3583  # bytes of base64, Lambda's limit
    MAX_HEAD = 64 * 1024  # bytes of status line and headers accepted in an answer
    # Bytes of body accepted: well above Lambda's 6 MB response limit, and a bound on what a
    # broken host's Content-Length can make the backend allocate.
    MAX_BODY = 32 * 1024 * 1024
    # Errors of a kept-alive connection the server closed while idle: safe to retry once on a
    # fresh one, because the request never reached a live server.
    STALE_CONNECTION = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
    # The Invoke API's own errors (not the function's), by HTTP status.
    SQLSTATE_BY_HTTP_STATUS = {400: "22023", 401: "28000", 403: "28000", 404: "42883", 413: "54000",
                               429: "53400"}

    class Failure(Exception):
        """An error for invoke_checked to raise: SQLSTATE, message, detail, hint."""

        def __init__(self, message, sqlstate, detail, hint=None):
            super().__init__(message)
            self.row = (None, None, None, None, sqlstate, message, detail, hint)

    class Closed(Exception):
        """The server closed the connection before sending any byte of an answer."""

    class ProtocolError(Exception):
        """The answer is not HTTP/1.x as this client reads it."""

    class Untrusted(Exception):
        """The https endpoint's certificate did not verify (its CA, its dates or its names)."""

    def fail(message, sqlstate, detail="", hint=None):
        raise Failure(message, sqlstate, detail, hint)

    def quote(text, safe=""):
        """Percent-encoding as urllib.parse.quote does it (UTF-8, unreserved characters kept)."""
        keep = UNRESERVED | frozenset(safe.encode("ascii"))
        return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode("utf-8"))

    def split_endpoint(endpoint):
        """(scheme, host, port, path) of an endpoint_url (its form is checked by the settings table)."""
        scheme, _, rest = endpoint.partition("://")
        netloc, slash, path = rest.partition("/")
        if netloc.startswith("["):
            host, _, port = netloc[1:].partition("]")
            port = port[1:]
        else:
            host, _, port = netloc.partition(":")
        return scheme, host, int(port) if port else (443 if scheme == "https" else 80), slash + path

    class Answer:
        """One HTTP answer: status, headers (lower-case names), body, and whether the server closes."""

        def __init__(self, sock):
            self.sock = sock
            self.buffer = bytearray()
            self.started = False

        def more(self):
            data = self.sock.recv(65536)
            if not data:
                if not self.started:
                    raise Closed("Remote end closed connection without response")
                raise ProtocolError("the connection closed in the middle of an answer")
            self.started = True
            self.buffer += data

        def head(self):
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end >= 0:
                    break
                if len(self.buffer) > MAX_HEAD:
                    raise ProtocolError(f"status line and headers longer than {MAX_HEAD} bytes")
                self.more()
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[:end + 4]
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (parts[1].isdigit() and len(parts[1]) == 3):
                raise ProtocolError(f"bad status line {lines[0][:100]!r}")
            headers = {}
            for line in lines[1:]:
                name, colon, value = line.partition(":")
                if not colon:
                    raise ProtocolError(f"bad header line {line[:100]!r}")
                name, value = name.strip().lower(), value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            return parts[0], int(parts[1]), headers

        def exactly(self, size):
            if len(self.buffer) >= size:
                data = bytes(self.buffer[:size])
                del self.buffer[:size]
                return data
            # Large bodies go straight into one buffer of the announced size.
            data = bytearray(size)
            data[:len(self.buffer)] = self.buffer
            view, got = memoryview(data), len(self.buffer)
            self.buffer = bytearray()
            while got < size:
                count = self.sock.recv_into(view[got:])
                if not count:
                    raise ProtocolError("the connection closed in the middle of an answer")
                got += count
            return bytes(data)

        def line(self):
            while (end := self.buffer.find(b"\r\n")) < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise ProtocolError("chunk size line too long")
                self.more()
            data = bytes(self.buffer[:end])
            del self.buffer[:end + 2]
            return data

        def chunked(self):
            body = bytearray()
            while True:
                try:
                    size = int(self.line().split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("bad chunk size") from None
                if size == 0:
                    while self.line():  # trailers, up to the empty line
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    raise ProtocolError(f"an answer over {MAX_BODY} bytes")
                body += self.exactly(size)
                if self.exactly(2) != b"\r\n":
                    raise ProtocolError("chunk not followed by CRLF")

        def until_closed(self):
            while True:
                data = self.sock.recv(65536)
                if not data:
                    data, self.buffer = bytes(self.buffer), bytearray()
                    return data
                self.buffer += data
                if len(self.buffer) > MAX_BODY:
                    raise ProtocolError(f"an answer over {MAX_BODY} bytes")

        def read(self):
            """(status, headers, body, will_close)."""
            while True:
                version, status, headers = self.head()
                if not 100 <= status < 200:
                    break  # 1xx answers (100 Continue) come before the real one
            tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
            will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
            if status in (204, 304):
                body = b""
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = self.chunked()
            elif "content-length" in headers:
                try:
                    length = int(headers["content-length"])
                except ValueError:
                    raise ProtocolError(f"bad Content-Length {headers['content-length'][:40]!r}") from None
                if not 0 <= length <= MAX_BODY:
                    raise ProtocolError(f"Content-Length {length} is not between 0 and {MAX_BODY}")
                body = self.exactly(length)
            else:
                body, will_close = self.until_closed(), True
            return status, headers, body, will_close or bool(self.buffer)

    class Shim:
        def __init__(self):
            self.settings_plan = plpy.prepare(SETTINGS_QUERY, ["text", "text"])
            # Kept-alive connections by (endpoint, CA certificates): a new CA means new connections.
            self.connections = {}
            self.signing_keys = {}
            self.tls_contexts = {}  # by CA certificates (None: the system's); loading CAs costs ms

        def settings(self, function_name, qualifier):
            rows = plpy.execute(self.settings_plan, [function_name, qualifier])
            if not rows:
                fail("invoke API failed: the aws_lambda shim has no endpoint configured in this database",
                     "55000", "aws_lambda_shim.settings is empty.",
                     hint="Run `pgs3v schema install --function-endpoint URL`, or as a superuser: "
                          "SELECT aws_lambda_shim.configure(endpoint_url => 'http://127.0.0.1:8760', "
                          "access_key_id => '...', secret_access_key => '...');")
            return rows[0]

        def invoke(self, *arguments):
            try:
                return self.attempt(*arguments)
            except Failure as failure:
                return failure.row

        def attempt(self, function_name, payload, region, invocation_type, log_type, context, qualifier):
            settings = self.settings(function_name, qualifier)
            invocation_type = invocation_type or "RequestResponse"
            log_type = log_type or "None"
            if (function_name is None or len(function_name) > 256 or function_name in (".", "..")
                    or not settings["valid_name"]):
                fail(f"invalid Lambda function name: {function_name!r}", "22023",
                     "Lambda accepts a name (my-function), a partial ARN (123456789012:function:my-function) "
                     "or a full ARN, optionally with :qualifier.")
            arn_region = settings["arn_region"]
            if region is not None and arn_region is not None and region != arn_region:
                fail(f"region {region!r} conflicts with region {arn_region!r} in the function ARN", "22023",
                     f"function {function_name!r}")
            region = region or arn_region or settings["region"]
            if not 0 < len(region) <= 32 or not REGION_CHARACTERS.issuperset(region):
                fail(f"invalid region: {region!r}", "22023", "Regions look like us-east-1.")
            if invocation_type not in STATUS_BY_TYPE:
                fail(f"invalid invocation_type {invocation_type!r}: use RequestResponse, Event or DryRun "
                     "(case-sensitive)", "22023", f"function {function_name!r}")
            if log_type not in LOG_TYPES:
                fail(f"invalid log_type {log_type!r}: use None or Tail (case-sensitive)", "22023",
                     f"function {function_name!r}")
            if qualifier is not None and not settings["valid_qualifier"]:
                fail(f"invalid qualifier: {qualifier!r}", "22023",
                     "Qualifiers are versions or aliases: $LATEST, 1, prod.")

            endpoint = settings["endpoint_url"].rstrip("/")
            scheme, host, port, base_path = split_endpoint(endpoint)
            path = f"{base_path}/2015-03-31/functions/{quote(function_name)}/invocations"
            query = [("Qualifier", qualifier)] if qualifier is not None else []
            netloc = endpoint.partition("://")[2].partition("/")[0]
            headers = {
                "content-type": "application/json",
                "host": netloc,
                "x-amz-invocation-type": invocation_type,
                "x-amz-log-type": log_type,
            }
            if context is not None:
                import base64  # only here: 5 ms to import in a new session

                encoded = base64.b64encode(context.encode("utf-8")).decode("ascii")
                if len(encoded) > MAX_CLIENT_CONTEXT:
                    fail(f"context is {len(encoded)} bytes in base64; Lambda accepts at most {MAX_CLIENT_CONTEXT}",
                         "22023", f"function {function_name!r}")
                headers["x-amz-client-context"] = encoded
            body = payload.encode("utf-8") if payload is not None else b""
            if settings["access_key_id"] is not None:
                self.sign(headers, path, query, body, settings["access_key_id"], settings["secret_access_key"],
                          region)
            headers["content-length"] = str(len(body))
            target = path + ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query) if query else "")
            request = "".join([f"POST {target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()),
                               "\r\n"]).encode("latin-1") + body
            status, answer_headers, data = self.exchange(endpoint, scheme, host, port, request,
                                                         settings["timeout_seconds"], function_name,
                                                         settings["ca_certificates"])
            return self.result(status, answer_headers, data, endpoint, function_name, invocation_type)

        def sign(self, headers, path, query, body, access_key_id, secret, region):
            """AWS Signature Version 4 for service lambda, as botocore computes it."""
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            day = amz_date[:8]
            headers["x-amz-date"] = amz_date
            names = sorted(headers)
            canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names)
            signed_headers = ";".join(names)
            # botocore signs the path it sends percent-encoded once more (keeping / and ~).
            canonical_query = "&".join(sorted(f"{quote(k)}={quote(v)}" for k, v in query))
            canonical_request = "\n".join([
                "POST", quote(path, safe="/"), canonical_query, canonical_headers, signed_headers,
                hashlib.sha256(body).hexdigest(),
            ])
            scope = f"{day}/{region}/lambda/aws4_request"
            string_to_sign = "\n".join([
                "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ])
            cache_key = (secret, day, region)
            key = self.signing_keys.get(cache_key)
            if key is None:
                key = f"AWS4{secret}".encode("utf-8")
                for part in (day, region, "lambda", "aws4_request"):
                    key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
                self.signing_keys = {cache_key: key}  # one day, one region: keep only the latest
            signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
            headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, "
                                        f"SignedHeaders={signed_headers}, Signature={signature}")

        def tls_context(self, ca_certificates):
            """A verifying context trusting ``ca_certificates`` (PEM), or the system's CAs when None."""
            import ssl

            context = self.tls_contexts.get(ca_certificates)
            if context is None:
                # Verification is always on: CERT_REQUIRED and hostname checks are the defaults.
                context = ssl.create_default_context(cadata=ca_certificates)
                self.tls_contexts[ca_certificates] = context
            return context

        def connect(self, scheme, host, port, timeout, ca_certificates):
            """A connected socket with TCP_NODELAY: a small request never waits for a delayed ACK."""
            if scheme == "https":
                import socket  # only for https: ssl wants socket.socket, and both take 15 ms to import
                import ssl

                context = self.tls_context(ca_certificates)
                sock = socket.create_connection((host, port), timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    return context.wrap_socket(sock, server_hostname=host)
                except ssl.SSLCertVerificationError as error:
                    sock.close()
                    raise Untrusted(error.verify_message or str(error)) from None
                except BaseException:
                    sock.close()
                    raise
            problem = OSError(f"no address for {host}")
            # The host as bytes: as str, CPython encodes it with the idna codec, which imports re
            # and unicodedata (5 ms); the settings table allows only ASCII host names.
            addresses = _socket.getaddrinfo(host.encode("ascii"), port, 0, _socket.SOCK_STREAM)
            for family, kind, protocol, _, address in addresses:
                sock = _socket.socket(family, kind, protocol)
                try:
                    sock.settimeout(timeout)
                    sock.connect(address)
                except OSError as error:
                    sock.close()
                    if isinstance(error, _socket.timeout):
                        raise
                    problem = error
                    continue
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
                return sock
            raise problem

        def exchange(self, endpoint, scheme, host, port, request, timeout, function_name, ca_certificates):
            """Send one request, headers and body in one write, on the endpoint's kept-alive connection."""
            key = (endpoint, ca_certificates)
            for attempt in (1, 2):
                sock = self.connections.get(key)
                reused = sock is not None
                connected = reused
                try:
                    if sock is None:
                        sock = self.connect(scheme, host, port, timeout, ca_certificates)
                        self.connections[key] = sock
                        connected = True
                    else:
                        sock.settimeout(timeout)
                    sock.sendall(request)
                    status, headers, data, will_close = Answer(sock).read()
                except (Closed, *STALE_CONNECTION) as error:
                    self.drop(key)
                    if reused and attempt == 1:
                        continue
                    fail(f"invoke API failed: the function host at {endpoint} closed the connection ({error})",
                         "08006", detail=f"function {function_name!r}",
                         hint="Is the function host running? `pgs3v status` shows it.")
                except _socket.timeout:
                    self.drop(key)
                    what = "no answer from" if connected else "could not connect to"
                    fail(f"invoke API failed: {what} the function host at {endpoint} within {timeout:g} s",
                         "08006", detail=f"function {function_name!r}",
                         hint="Is the function host running and reachable? The timeout is "
                              "aws_lambda_shim.settings.timeout_seconds.")
                except Untrusted as error:
                    fail(f"invoke API failed: the certificate of the function host at {endpoint} did not verify: "
                         f"{error}", "08001", detail=f"function {function_name!r}",
                         hint="Trust the CA that signed it: `pgs3v schema install --function-endpoint URL "
                              "--tls-ca CA_FILE`, or as a superuser SELECT aws_lambda_shim.configure(..., "
                              "ca_certificates => '<PEM>'); and check the certificate's dates and names "
                              "(`pgs3v doctor`).")
                except OSError as error:
                    self.drop(key)
                    fail(f"invoke API failed: could not connect to the function host at {endpoint}: {error}",
                         "08001", detail=f"function {function_name!r}",
                         hint="Start it (`pgs3v up`, or `pgs3v functions serve`), or point the shim at it: "
                              "SELECT aws_lambda_shim.configure(endpoint_url => ...).")
                except ProtocolError as error:
                    self.drop(key)
                    fail(f"invoke API failed: the function host at {endpoint} broke the HTTP protocol: "
                         f"{type(error).__name__}: {error}", "08P01", detail=f"function {function_name!r}")
                if will_close:
                    self.drop(key)
                return status, headers, data

        def drop(self, key):
            sock = self.connections.pop(key, None)
            if sock is not None:
                sock.close()

        def result(self, status, headers, data, endpoint, function_name, invocation_type):
            if not 200 <= status < 300:
                import json  # errors only: 6 ms to import in a new session

                error_type = headers.get("x-amzn-errortype", "").split(":")[0] or f"HTTP {status}"
                message = data.decode("utf-8", "replace")[:2000]
                try:
                    document = json.loads(message)
                    message = document.get("message") or document.get("Message") or message
                except (ValueError, AttributeError):
                    pass
                fail(f"invoke API failed: the function host at {endpoint} answered {error_type}: {message}",
                     SQLSTATE_BY_HTTP_STATUS.get(status, "58000"),
                     detail=f"function {function_name!r}, HTTP status {status}")
            function_error = headers.get("x-amz-function-error")
            if function_error:
                import json

                details = data.decode("utf-8", "replace")
                try:
                    document = json.loads(details)
                    details = f"{document.get('errorType')}: {document.get('errorMessage')}"
                except (ValueError, AttributeError):
                    pass
                fail(f'lambda invocation failed: function "{function_name}" at {endpoint} returned error '
                     f'"{function_error}"', "38000", detail=f"details: {details[:4000]}")
            text = None
            if invocation_type == "RequestResponse":
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    fail(f"invoke API failed: function {function_name!r} returned a payload that is not UTF-8",
                         "22021", f"endpoint {endpoint}")
                # A function returning None answers "null"; an empty body carries no payload at all.
                text = text or None
            return (status, text, headers.get("x-amz-executed-version"), headers.get("x-amz-log-result"),
                    None, None, None, None)

    shim = GD["aws_lambda_shim/1.2"] = Shim()

return shim.invoke(function_name, payload, region, invocation_type, log_type, context, qualifier)
$python$;
ALTER FUNCTION aws_lambda_shim.invoke_text(text, text, text, text, text, text, text) OWNER TO pgs3v_shim_owner;
REVOKE ALL ON FUNCTION aws_lambda_shim.invoke_text(text, text, text, text, text, text, text) FROM PUBLIC;

-- configure() and configuration() change shape: dropped and made again, then revoked from PUBLIC
-- as 1.0 did (a new function is executable by PUBLIC until revoked).
DROP FUNCTION IF EXISTS aws_lambda_shim.configure(text, text, text, text, double precision);
CREATE OR REPLACE FUNCTION aws_lambda_shim.configure(
    endpoint_url text,
    region text DEFAULT 'us-east-1',
    access_key_id text DEFAULT NULL,
    secret_access_key text DEFAULT NULL,
    timeout_seconds double precision DEFAULT 30,
    ca_certificates text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO aws_lambda_shim.settings AS s
        (singleton, endpoint_url, region, access_key_id, secret_access_key, timeout_seconds, ca_certificates)
    VALUES (true, rtrim($1, '/'), $2, $3, $4, $5, $6)
    ON CONFLICT (singleton) DO UPDATE
        SET endpoint_url = excluded.endpoint_url, region = excluded.region,
            access_key_id = excluded.access_key_id, secret_access_key = excluded.secret_access_key,
            timeout_seconds = excluded.timeout_seconds, ca_certificates = excluded.ca_certificates
$$;
COMMENT ON FUNCTION aws_lambda_shim.configure(text, text, text, text, double precision, text)
    IS 'pgs3v: set the Lambda Invoke endpoint, region, SigV4 keys, timeout and trusted CAs (PEM) of this database';
ALTER FUNCTION aws_lambda_shim.configure(text, text, text, text, double precision, text) OWNER TO pgs3v_shim_owner;
REVOKE ALL ON FUNCTION aws_lambda_shim.configure(text, text, text, text, double precision, text) FROM PUBLIC;

-- What is configured, without the secret: for `pgs3v doctor` and for people.
DROP FUNCTION IF EXISTS aws_lambda_shim.configuration();
CREATE OR REPLACE FUNCTION aws_lambda_shim.configuration(
    OUT endpoint_url text,
    OUT region text,
    OUT access_key_id text,
    OUT has_secret_access_key boolean,
    OUT timeout_seconds double precision,
    OUT ca_certificates text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.endpoint_url, s.region, s.access_key_id, s.secret_access_key IS NOT NULL, s.timeout_seconds,
           s.ca_certificates
    FROM aws_lambda_shim.settings AS s
$$;
ALTER FUNCTION aws_lambda_shim.configuration() OWNER TO pgs3v_shim_owner;
REVOKE ALL ON FUNCTION aws_lambda_shim.configuration() FROM PUBLIC;

CREATE OR REPLACE FUNCTION aws_lambda_shim.shim_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '1.2'::text $$;
ALTER FUNCTION aws_lambda_shim.shim_version() OWNER TO pgs3v_shim_owner;

COMMIT;
