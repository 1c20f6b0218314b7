-- pgs3v 0.2.0 -> 0.3.0: each operation goes to the bridge function with the privileges it needs.
--
-- On AWS the bridge is deployed as three functions, each with an execution role of its own
-- (src/pgs3v/aws/pgs3v.yaml, docs/aws.md): a query function that may only read vectors, a write
-- function that may also put and delete them, and a manage function for buckets and indexes. So
-- s3vectors.settings gains two columns, and every invocation picks its function by operation:
--   * QueryVectors, GetVectors, ListVectors    -> query_function_name
--   * PutVectors, DeleteVectors                -> write_function_name
--   * every other operation                    -> function_name
-- A NULL column means function_name, which is what both are after the upgrade: one function
-- (pgs3v-bridge, as the local stack runs it) keeps serving everything until they are set.
-- s3vectors.function_name(operation) tells which function an operation goes to.
-- 0.2.0's signatures, owners and grants do not change.
--
-- A fresh install runs pgs3v--0.1.0.sql, pgs3v--0.1.0--0.2.0.sql and then this file (pgs3v
-- schema install does); running this file again is harmless.

BEGIN;

DO $guard$
DECLARE
    installed text;
BEGIN
    IF pg_catalog.to_regprocedure('s3vectors.schema_version()') IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not installed here; this file upgrades 0.2.0 to 0.3.0'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run sql/pgs3v--0.1.0.sql and sql/pgs3v--0.1.0--0.2.0.sql first (pgs3v schema install does).';
    END IF;
    EXECUTE 'SELECT s3vectors.schema_version()' INTO installed;
    IF installed NOT IN ('0.2.0', '0.3.0') THEN
        RAISE EXCEPTION 'pgs3v % is installed here; this file upgrades 0.2.0 to 0.3.0', installed
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$guard$;

-- Replaced in place by their owner, so each keeps its privileges.
SET LOCAL ROLE pgs3v_owner;

-- ---------------------------------------------------------------------------------------------
-- Settings and version
-- ---------------------------------------------------------------------------------------------

ALTER TABLE s3vectors.settings
    ADD COLUMN IF NOT EXISTS query_function_name text,
    ADD COLUMN IF NOT EXISTS write_function_name text;
COMMENT ON COLUMN s3vectors.settings.function_name
    IS 'pgs3v: the bridge function for every operation the two other columns do not take';
COMMENT ON COLUMN s3vectors.settings.query_function_name
    IS 'pgs3v: the bridge function for QueryVectors, GetVectors and ListVectors (NULL: function_name)';
COMMENT ON COLUMN s3vectors.settings.write_function_name
    IS 'pgs3v: the bridge function for PutVectors and DeleteVectors (NULL: function_name)';
COMMENT ON TABLE s3vectors.settings IS 'pgs3v: which Lambda functions the s3vectors functions invoke';

CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '0.3.0'::text $$;

-- The one place that routes an operation to a function.
CREATE OR REPLACE FUNCTION s3vectors.function_name(operation text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN $1 IN ('QueryVectors', 'GetVectors', 'ListVectors') THEN coalesce(s.query_function_name, s.function_name)
        WHEN $1 IN ('PutVectors', 'DeleteVectors') THEN coalesce(s.write_function_name, s.function_name)
        ELSE s.function_name
    END
    FROM s3vectors.settings AS s
$$;
COMMENT ON FUNCTION s3vectors.function_name(text)
    IS 'pgs3v: the Lambda function an S3 Vectors operation is sent to';

-- ---------------------------------------------------------------------------------------------
-- Internals (owner only)
-- ---------------------------------------------------------------------------------------------

-- Invoke the function that serves the operation with an event ({"operation": ..., "request":
-- ...}); returns the API response, raises its error. The operation comes as an argument, so that
-- a 5 MB PutVectors event is not parsed to find it. json, not jsonb, on purpose: vectors pass
-- through as text, never converted number by number into jsonb numerics and back.
CREATE OR REPLACE FUNCTION s3vectors._call(operation text, event json) RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bridge text := s3vectors.function_name(operation);
    bridge_region text;
    answer json;
    error json;
BEGIN
    IF bridge IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not configured: s3vectors.settings is empty'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run pgs3v schema install.';
    END IF;
    SELECT s.region INTO bridge_region FROM s3vectors.settings AS s;
    SELECT r.payload INTO answer FROM aws_lambda.invoke(bridge, event, bridge_region) AS r;
    IF json_typeof(answer) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'the bridge function % returned %, not a JSON object', bridge,
                        left(coalesce(answer::text, 'no payload'), 200)
            USING ERRCODE = 'system_error';
    END IF;
    error := answer -> 'error';
    IF error IS NOT NULL THEN
        PERFORM s3vectors._raise(error::jsonb);
    END IF;
    RETURN coalesce(answer -> 'response', '{}'::json);
END
$$;

-- 0.2.0's form, kept for callers of the one-argument call: the operation is read from the event.
CREATE OR REPLACE FUNCTION s3vectors._call(event json) RETURNS json
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._call($1 ->> 'operation', $1)
$$;

-- One S3 Vectors operation with a (small) request built as jsonb.
CREATE OR REPLACE FUNCTION s3vectors._invoke(operation text, request jsonb) RETURNS json
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._call($1, jsonb_build_object('operation', $1, 'request', $2)::json)
$$;

-- Send PutVectors (member 'vectors') or DeleteVectors (member 'keys'): items are the JSON texts
-- of the list's elements. They go in consecutive batches of about max_request_bytes (a batch
-- exceeds it by at most one item), so each invocation stays under Lambda's 6 MB request limit;
-- the bridge splits each batch into API calls of at most 500. Returns the number of items.
-- (0.2.0's, sending to the write function.)
CREATE OR REPLACE FUNCTION s3vectors._send_batches(operation text, address jsonb, member text, items text[])
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_bytes integer;
    head text;
    tail text;
    batch text;
BEGIN
    SELECT s.max_request_bytes INTO max_bytes FROM s3vectors.settings AS s;
    -- {"operation": ..., "request": {member: [batch], ...address}}, as text (see _call).
    head := '{"operation":' || to_json(operation)::text || ',"request":{' || to_json(member)::text || ':';
    tail := CASE WHEN address = '{}'::jsonb THEN '}}' ELSE ',' || substr(address::text, 2) || '}' END;
    IF coalesce(cardinality(items), 0) = 0 THEN
        -- Let the API answer for an empty list, as it would for any client.
        PERFORM s3vectors._call(operation, (head || '[]' || tail)::json);
        RETURN 0;
    END IF;
    FOR batch IN
        SELECT '[' || string_agg(sized.item, ',' ORDER BY sized.n) || ']'
        FROM (SELECT i.item, i.n, sum(octet_length(i.item)) OVER (ORDER BY i.n) AS upto
              FROM unnest(items) WITH ORDINALITY AS i(item, n)) AS sized
        GROUP BY (sized.upto - 1) / coalesce(max_bytes, 5000000)
        ORDER BY (sized.upto - 1) / coalesce(max_bytes, 5000000)
    LOOP
        PERFORM s3vectors._call(operation, (head || batch || tail)::json);
    END LOOP;
    RETURN cardinality(items);
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA s3vectors FROM PUBLIC;
GRANT EXECUTE ON FUNCTION s3vectors.function_name(text) TO pgs3v_reader;

RESET ROLE;
COMMIT;
