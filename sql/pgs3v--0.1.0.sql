-- pgs3v 0.1.0: Amazon S3 Vectors from SQL, in schema s3vectors.
--
-- Every function is named after an S3 Vectors operation (QueryVectors -> s3vectors.query_vectors)
-- and takes the API's field names in snake_case, so named notation reads like the API:
--     SELECT p.name, q.distance
--     FROM s3vectors.query_vectors(vector_bucket_name => 'catalog', index_name => 'products',
--                                  query_vector => $1, top_k => 10,
--                                  filter => '{"in_stock": true}') AS q
--     JOIN products AS p ON p.sku = q.key
--     ORDER BY q.distance;
--
-- Each call goes to the pgs3v-bridge Lambda function through aws_lambda.invoke: on Aurora that is
-- AWS's aws_lambda extension and a real Lambda; elsewhere it is pgs3v's shim
-- (aws_lambda_shim--1.0.sql) and the local function host. This file is the same for both.
--
-- Install with `pgs3v schema install --dsn ...`, or by hand after aws_lambda.invoke exists:
--     psql -v ON_ERROR_STOP=1 -f sql/pgs3v--0.1.0.sql
-- Re-running it is harmless. Later versions ship as upgrade scripts pgs3v--A--B.sql, applied in
-- order (see docs/sql.md).
--
-- Security model:
--   * The NOLOGIN role pgs3v_owner owns the schema and every function. Functions are SECURITY
--     DEFINER with search_path fixed to pg_catalog, pg_temp; every object is schema-qualified.
--   * Only pgs3v_owner may call aws_lambda.invoke. Users get one of three NOLOGIN group roles:
--       pgs3v_reader  query_vectors, query_vectors_paged, get_vectors
--       pgs3v_writer  + put_vector(s), delete_vectors, list_vectors
--       pgs3v_admin   + bucket and index management
--   * Requests are built with jsonb_build_object (bulk writes: to_json and jsonb's own text), so
--     names, keys, filters and metadata are escaped JSON values, never SQL or JSON text. No SQL
--     is built from arguments.

BEGIN;

-- ---------------------------------------------------------------------------------------------
-- Preconditions
-- ---------------------------------------------------------------------------------------------

DO $guard$
DECLARE
    installed text;
BEGIN
    IF pg_catalog.to_regprocedure('aws_lambda.invoke(text, jsonb, text, text, text, jsonb, character varying)')
            IS NULL THEN
        RAISE EXCEPTION 'aws_lambda.invoke is missing'
            USING ERRCODE = 'undefined_function',
                  HINT = 'On Aurora or RDS: CREATE EXTENSION aws_lambda CASCADE; elsewhere install '
                         'sql/aws_lambda_shim--1.0.sql first (pgs3v schema install does it).';
    END IF;
    IF pg_catalog.to_regprocedure('s3vectors.schema_version()') IS NOT NULL THEN
        -- Dynamic so that this block parses where the function does not exist yet.
        EXECUTE 'SELECT s3vectors.schema_version()' INTO installed;
        IF installed <> '0.1.0' THEN
            RAISE EXCEPTION 'pgs3v % is installed here; this file installs 0.1.0', installed
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Apply the upgrade scripts pgs3v--A--B.sql instead (pgs3v schema install does).';
        END IF;
    END IF;
END
$guard$;

-- ---------------------------------------------------------------------------------------------
-- Roles (cluster-wide): the owner, and three group roles to grant to users.
-- ---------------------------------------------------------------------------------------------

DO $roles$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['pgs3v_owner', 'pgs3v_reader', 'pgs3v_writer', 'pgs3v_admin'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
    -- Each role has the privileges of the one below it.
    IF NOT pg_catalog.pg_has_role('pgs3v_writer', 'pgs3v_reader', 'MEMBER') THEN
        GRANT pgs3v_reader TO pgs3v_writer;
    END IF;
    IF NOT pg_catalog.pg_has_role('pgs3v_admin', 'pgs3v_writer', 'MEMBER') THEN
        GRANT pgs3v_writer TO pgs3v_admin;
    END IF;
    -- Creating objects owned by pgs3v_owner needs membership when not a superuser (Aurora's
    -- master user is not one).
    IF NOT pg_catalog.pg_has_role(current_user, 'pgs3v_owner', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT pgs3v_owner TO %I', current_user);
    END IF;
END
$roles$;

-- The owner calls the bridge; nobody else needs to (and nobody else may).
GRANT USAGE ON SCHEMA aws_lambda TO pgs3v_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA aws_lambda TO pgs3v_owner;
GRANT USAGE ON SCHEMA aws_commons TO pgs3v_owner;

CREATE SCHEMA IF NOT EXISTS s3vectors AUTHORIZATION pgs3v_owner;
COMMENT ON SCHEMA s3vectors IS 'pgs3v: Amazon S3 Vectors operations as SQL functions';

-- Everything below is created by, and so owned by, the owner role.
SET LOCAL ROLE pgs3v_owner;

-- ---------------------------------------------------------------------------------------------
-- Settings and version
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS s3vectors.settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- The bridge: a function name, a partial ARN or a full ARN (Aurora: the deployed function).
    function_name text NOT NULL DEFAULT 'pgs3v-bridge',
    -- Lambda region; NULL lets aws_lambda.invoke decide (the ARN's, else the instance's or shim's).
    region text,
    -- Writes are sent in invocations of at most about this many bytes: a synchronous Lambda
    -- request is limited to 6 MB, and the bridge splits each into API calls of 500 vectors.
    max_request_bytes integer NOT NULL DEFAULT 5000000 CHECK (max_request_bytes BETWEEN 1024 AND 268435456)
);
INSERT INTO s3vectors.settings DEFAULT VALUES ON CONFLICT DO NOTHING;
REVOKE ALL ON s3vectors.settings FROM PUBLIC;
COMMENT ON TABLE s3vectors.settings IS 'pgs3v: which Lambda function the s3vectors functions invoke';

CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '0.1.0'::text $$;
COMMENT ON FUNCTION s3vectors.schema_version() IS 'pgs3v: the installed schema version';

CREATE OR REPLACE FUNCTION s3vectors.function_name() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT s.function_name FROM s3vectors.settings AS s $$;
COMMENT ON FUNCTION s3vectors.function_name() IS 'pgs3v: the Lambda function the s3vectors functions invoke';

-- ---------------------------------------------------------------------------------------------
-- Row types of the management functions (the API's VectorBucket, Index and their summaries)
-- ---------------------------------------------------------------------------------------------

DO $types$
BEGIN
    IF pg_catalog.to_regtype('s3vectors.vector_bucket') IS NULL THEN
        CREATE TYPE s3vectors.vector_bucket AS (
            vector_bucket_name text, vector_bucket_arn text, creation_time timestamptz,
            encryption_configuration jsonb);
    END IF;
    IF pg_catalog.to_regtype('s3vectors.vector_bucket_summary') IS NULL THEN
        CREATE TYPE s3vectors.vector_bucket_summary AS (
            vector_bucket_name text, vector_bucket_arn text, creation_time timestamptz);
    END IF;
    IF pg_catalog.to_regtype('s3vectors.vector_index') IS NULL THEN
        CREATE TYPE s3vectors.vector_index AS (
            vector_bucket_name text, index_name text, index_arn text, creation_time timestamptz,
            data_type text, dimension integer, distance_metric text, non_filterable_metadata_keys text[],
            encryption_configuration jsonb);
    END IF;
    IF pg_catalog.to_regtype('s3vectors.index_summary') IS NULL THEN
        CREATE TYPE s3vectors.index_summary AS (
            vector_bucket_name text, index_name text, index_arn text, creation_time timestamptz);
    END IF;
END
$types$;

-- ---------------------------------------------------------------------------------------------
-- Internals (owner only)
-- ---------------------------------------------------------------------------------------------

-- The SQLSTATE an S3 Vectors error code becomes (documented in docs/sql.md).
CREATE OR REPLACE FUNCTION s3vectors.error_sqlstate(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE $1
        WHEN 'ValidationException' THEN '22023'                  -- invalid_parameter_value
        WHEN 'NotFoundException' THEN '42704'                    -- undefined_object
        WHEN 'ConflictException' THEN '42710'                    -- duplicate_object
        WHEN 'AccessDeniedException' THEN '42501'                -- insufficient_privilege
        WHEN 'MissingAuthenticationTokenException' THEN '42501'
        WHEN 'UnrecognizedClientException' THEN '42501'
        WHEN 'IncompleteSignatureException' THEN '42501'
        WHEN 'InvalidSignatureException' THEN '42501'
        WHEN 'ServiceQuotaExceededException' THEN '54000'        -- program_limit_exceeded
        WHEN 'TooManyRequestsException' THEN '53400'             -- configuration_limit_exceeded
        WHEN 'ServiceUnavailableException' THEN '08006'          -- connection_failure
        WHEN 'RequestTimeoutException' THEN '08006'
        WHEN 'InternalServerException' THEN 'XX000'              -- internal_error
        ELSE '58000'                                             -- system_error (KMS and others)
    END
$$;
COMMENT ON FUNCTION s3vectors.error_sqlstate(text) IS 'pgs3v: the SQLSTATE raised for an S3 Vectors error code';

-- Raise a bridge error: "Code: message", DETAIL with the HTTP status and fieldList.
CREATE OR REPLACE FUNCTION s3vectors._raise(error jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    code text := coalesce(error ->> 'code', 'UnknownError');
    detail text := pg_catalog.format('S3 Vectors error %s, HTTP status %s', code,
                                     coalesce(error ->> 'httpStatus', 'unknown'));
BEGIN
    IF jsonb_typeof(error -> 'fieldList') = 'array' AND jsonb_array_length(error -> 'fieldList') > 0 THEN
        detail := detail || '; fieldList: ' || (error -> 'fieldList')::text;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = code || ': ' || coalesce(error ->> 'message', '(no message)'),
        ERRCODE = s3vectors.error_sqlstate(code),
        DETAIL = detail;
END
$$;

-- Invoke the bridge with an event ({"operation": ..., "request": ...}); returns the API response,
-- raises its error. json, not jsonb, on purpose: vectors pass through as text, never converted
-- number by number into jsonb numerics and back.
CREATE OR REPLACE FUNCTION s3vectors._call(event json) RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bridge text;
    bridge_region text;
    answer json;
    error json;
BEGIN
    SELECT s.function_name, s.region INTO bridge, bridge_region FROM s3vectors.settings AS s;
    IF bridge IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not configured: s3vectors.settings is empty'
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Run pgs3v schema install.';
    END IF;
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

-- One S3 Vectors operation with a (small) request built as jsonb.
CREATE OR REPLACE FUNCTION s3vectors._invoke(operation text, request jsonb) RETURNS json
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._call(jsonb_build_object('operation', $1, 'request', $2)::json)
$$;

-- The object without its top-level nulls (the API omits unset members; nested nulls, e.g. in
-- metadata or a filter, are data and stay).
CREATE OR REPLACE FUNCTION s3vectors._compact(object jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
    FROM jsonb_each($1) AS e
    WHERE jsonb_typeof(e.value) <> 'null'
$$;

-- How an index is addressed: bucket name + index name, or index ARN.
CREATE OR REPLACE FUNCTION s3vectors._index_address(vector_bucket_name text, index_name text, index_arn text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._compact(jsonb_build_object('vectorBucketName', $1, 'indexName', $2, 'indexArn', $3))
$$;

-- Every item of a List* operation's answers, page after page (nextToken), in order, at most
-- max_results of them (NULL: all). The list functions below share this loop.
CREATE OR REPLACE FUNCTION s3vectors._pages(operation text, request jsonb, member text, max_results integer,
                                            page_size integer)
RETURNS SETOF json
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    token text := request ->> 'nextToken';
    remaining bigint := max_results;  -- NULL: every page
    page json;
    got bigint;
BEGIN
    IF max_results IS NOT NULL AND max_results < 1 THEN
        RAISE EXCEPTION 'ValidationException: max_results must be at least 1' USING ERRCODE = '22023';
    END IF;
    LOOP
        page := s3vectors._invoke(operation, s3vectors._compact(request || jsonb_build_object(
            'maxResults', least(coalesce(remaining, page_size), page_size), 'nextToken', token)));
        RETURN QUERY
            SELECT e.item FROM json_array_elements(page -> member) WITH ORDINALITY AS e(item, n) ORDER BY e.n;
        GET DIAGNOSTICS got = ROW_COUNT;
        remaining := remaining - got;
        token := page ->> 'nextToken';
        EXIT WHEN token IS NULL OR remaining <= 0;
    END LOOP;
END
$$;

-- A JSON array of numbers as real[], parsed by PostgreSQL's array input in one go.
CREATE OR REPLACE FUNCTION s3vectors._real_array(numbers json) RETURNS real[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN json_typeof($1) = 'array' THEN translate($1::text, '[]', '{}')::real[] END
$$;

-- The API's timestamps: ISO-8601 strings from the bridge, or epoch seconds on the wire.
CREATE OR REPLACE FUNCTION s3vectors._timestamp(value json) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE json_typeof($1)
        WHEN 'number' THEN to_timestamp(($1)::text::double precision)
        WHEN 'string' THEN ($1 #>> '{}')::timestamptz
    END
$$;

-- A JSON array of strings as text[].
CREATE OR REPLACE FUNCTION s3vectors._text_array(strings json) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN json_typeof($1) = 'array' THEN ARRAY(SELECT json_array_elements_text($1)) END
$$;

-- Refuse a vector the store could not take, with a message that says why. JSON has no NaN or
-- Infinity, so they could not even be sent.
CREATE OR REPLACE FUNCTION s3vectors._check_vector(v real[], what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pos integer;
BEGIN
    IF v IS NULL THEN
        RAISE EXCEPTION 'ValidationException: % must not be NULL', what USING ERRCODE = '22023';
    END IF;
    IF array_ndims(v) IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'ValidationException: % must be a non-empty one-dimensional real[], got % dimensions',
            what, coalesce(array_ndims(v), 0) USING ERRCODE = '22023';
    END IF;
    pos := array_position(v, NULL);
    IF pos IS NOT NULL THEN
        RAISE EXCEPTION 'ValidationException: % has a NULL at position %', what, pos USING ERRCODE = '22023';
    END IF;
    IF v && '{NaN,Infinity,-Infinity}'::real[] THEN
        pos := coalesce(array_position(v, 'NaN'), array_position(v, 'Infinity'), array_position(v, '-Infinity'));
        RAISE EXCEPTION 'ValidationException: % has % at position %: vectors must be finite numbers',
            what, v[pos], pos USING ERRCODE = '22023';
    END IF;
END
$$;

-- Refuse a NULL key list or NULL keys (a NULL would otherwise vanish from the request).
CREATE OR REPLACE FUNCTION s3vectors._check_keys(keys text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF keys IS NULL THEN
        RAISE EXCEPTION 'ValidationException: keys must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF array_position(keys, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'ValidationException: keys has a NULL at position %', array_position(keys, NULL)
            USING ERRCODE = '22023';
    END IF;
END
$$;

-- Send PutVectors (member 'vectors') or DeleteVectors (member 'keys'): items are the JSON texts
-- of the list's elements. They go in consecutive batches of about max_request_bytes (a batch
-- exceeds it by at most one item), so each invocation stays under Lambda's 6 MB request limit;
-- the bridge splits each batch into API calls of at most 500. Returns the number of items.
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
        PERFORM s3vectors._call((head || '[]' || tail)::json);
        RETURN 0;
    END IF;
    FOR batch IN
        SELECT '[' || string_agg(sized.item, ',' ORDER BY sized.n) || ']'
        FROM (SELECT i.item, i.n, sum(octet_length(i.item)) OVER (ORDER BY i.n) AS upto
              FROM unnest(items) WITH ORDINALITY AS i(item, n)) AS sized
        GROUP BY (sized.upto - 1) / coalesce(max_bytes, 5000000)
        ORDER BY (sized.upto - 1) / coalesce(max_bytes, 5000000)
    LOOP
        PERFORM s3vectors._call((head || batch || tail)::json);
    END LOOP;
    RETURN cardinality(items);
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Vector buckets (pgs3v_admin)
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.create_vector_bucket(
    vector_bucket_name text DEFAULT NULL,
    encryption_configuration jsonb DEFAULT NULL,
    tags jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._invoke('CreateVectorBucket', s3vectors._compact(jsonb_build_object(
        'vectorBucketName', $1, 'encryptionConfiguration', $2, 'tags', $3))) ->> 'vectorBucketArn'
$$;
COMMENT ON FUNCTION s3vectors.create_vector_bucket(text, jsonb, jsonb)
    IS 'CreateVectorBucket: create a vector bucket; returns its ARN';

CREATE OR REPLACE FUNCTION s3vectors.get_vector_bucket(
    vector_bucket_name text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS s3vectors.vector_bucket
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b ->> 'vectorBucketName', b ->> 'vectorBucketArn', s3vectors._timestamp(b -> 'creationTime'),
           (b -> 'encryptionConfiguration')::jsonb
    FROM (SELECT s3vectors._invoke('GetVectorBucket', s3vectors._compact(jsonb_build_object(
              'vectorBucketName', $1, 'vectorBucketArn', $2))) -> 'vectorBucket' AS b) AS answer
$$;
COMMENT ON FUNCTION s3vectors.get_vector_bucket(text, text) IS 'GetVectorBucket: one vector bucket';

CREATE OR REPLACE FUNCTION s3vectors.list_vector_buckets(
    prefix text DEFAULT NULL,
    max_results integer DEFAULT NULL,
    next_token text DEFAULT NULL)
RETURNS SETOF s3vectors.vector_bucket_summary
LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.b ->> 'vectorBucketName', p.b ->> 'vectorBucketArn', s3vectors._timestamp(p.b -> 'creationTime')
    FROM s3vectors._pages('ListVectorBuckets', jsonb_build_object('prefix', $1, 'nextToken', $3),
                          'vectorBuckets', $2, 500) WITH ORDINALITY AS p(b, n)
    ORDER BY p.n
$$;
COMMENT ON FUNCTION s3vectors.list_vector_buckets(text, integer, text)
    IS 'ListVectorBuckets: every vector bucket (all pages; max_results caps the rows returned)';

CREATE OR REPLACE FUNCTION s3vectors.delete_vector_bucket(
    vector_bucket_name text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('DeleteVectorBucket', s3vectors._compact(jsonb_build_object(
        'vectorBucketName', $1, 'vectorBucketArn', $2)))
$$;
COMMENT ON FUNCTION s3vectors.delete_vector_bucket(text, text)
    IS 'DeleteVectorBucket: delete an empty vector bucket';

-- ---------------------------------------------------------------------------------------------
-- Indexes (pgs3v_admin)
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.create_index(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    dimension integer DEFAULT NULL,
    distance_metric text DEFAULT NULL,
    data_type text DEFAULT 'float32',
    non_filterable_metadata_keys text[] DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL,
    encryption_configuration jsonb DEFAULT NULL,
    tags jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._invoke('CreateIndex', s3vectors._compact(jsonb_build_object(
        'vectorBucketName', $1, 'indexName', $2, 'dimension', $3, 'distanceMetric', $4, 'dataType', $5,
        'metadataConfiguration',
            CASE WHEN $6 IS NOT NULL THEN jsonb_build_object('nonFilterableMetadataKeys', to_jsonb($6)) END,
        'vectorBucketArn', $7, 'encryptionConfiguration', $8, 'tags', $9))) ->> 'indexArn'
$$;
COMMENT ON FUNCTION s3vectors.create_index(text, text, integer, text, text, text[], text, jsonb, jsonb)
    IS 'CreateIndex: create a vector index (distance_metric cosine or euclidean); returns its ARN';

CREATE OR REPLACE FUNCTION s3vectors.get_index(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS s3vectors.vector_index
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i ->> 'vectorBucketName', i ->> 'indexName', i ->> 'indexArn', s3vectors._timestamp(i -> 'creationTime'),
           i ->> 'dataType', (i ->> 'dimension')::integer, i ->> 'distanceMetric',
           coalesce(s3vectors._text_array(i #> '{metadataConfiguration,nonFilterableMetadataKeys}'), '{}'),
           (i -> 'encryptionConfiguration')::jsonb
    FROM (SELECT s3vectors._invoke('GetIndex', s3vectors._index_address($1, $2, $3)) -> 'index' AS i) AS answer
$$;
COMMENT ON FUNCTION s3vectors.get_index(text, text, text) IS 'GetIndex: one vector index';

CREATE OR REPLACE FUNCTION s3vectors.list_indexes(
    vector_bucket_name text DEFAULT NULL,
    prefix text DEFAULT NULL,
    max_results integer DEFAULT NULL,
    next_token text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS SETOF s3vectors.index_summary
LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.i ->> 'vectorBucketName', p.i ->> 'indexName', p.i ->> 'indexArn',
           s3vectors._timestamp(p.i -> 'creationTime')
    FROM s3vectors._pages('ListIndexes', jsonb_build_object('vectorBucketName', $1, 'vectorBucketArn', $5,
                                                           'prefix', $2, 'nextToken', $4),
                          'indexes', $3, 500) WITH ORDINALITY AS p(i, n)
    ORDER BY p.n
$$;
COMMENT ON FUNCTION s3vectors.list_indexes(text, text, integer, text, text)
    IS 'ListIndexes: the indexes of a bucket (all pages; max_results caps the rows returned)';

CREATE OR REPLACE FUNCTION s3vectors.delete_index(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('DeleteIndex', s3vectors._index_address($1, $2, $3))
$$;
COMMENT ON FUNCTION s3vectors.delete_index(text, text, text) IS 'DeleteIndex: delete an index and its vectors';

-- ---------------------------------------------------------------------------------------------
-- Writing vectors (pgs3v_writer). Writes are not transactional: a rolled-back transaction does
-- not undo them, and a failed batch leaves the earlier batches written (retrying is safe:
-- PutVectors replaces, DeleteVectors ignores missing keys).
-- ---------------------------------------------------------------------------------------------

-- One vector.
CREATE OR REPLACE FUNCTION s3vectors.put_vector(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    key text DEFAULT NULL,
    data real[] DEFAULT NULL,
    metadata jsonb DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1  -- floats go into JSON exactly, whatever the session says
AS $$
BEGIN
    PERFORM s3vectors._check_vector(data, pg_catalog.format('the vector of key %L', key));
    PERFORM s3vectors._invoke('PutVectors', s3vectors._index_address(vector_bucket_name, index_name, index_arn)
        || jsonb_build_object('vectors', jsonb_build_array(s3vectors._compact(jsonb_build_object(
               'key', key, 'data', jsonb_build_object('float32', to_jsonb(data)), 'metadata', metadata)))));
END
$$;
COMMENT ON FUNCTION s3vectors.put_vector(text, text, text, real[], jsonb, text)
    IS 'PutVectors with one vector: insert or replace it';

-- Many vectors as parallel arrays: keys[i] gets data's row i and metadata[i]. One statement
-- loads a table:
--     SELECT s3vectors.put_vectors('catalog', 'products', array_agg(sku), array_agg(embedding),
--                                  array_agg(jsonb_build_object('price', price)))
--     FROM products;
-- (array_agg of a real[] column is the two-dimensional array wanted for data.)
CREATE OR REPLACE FUNCTION s3vectors.put_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    keys text[] DEFAULT NULL,
    data real[] DEFAULT NULL,
    metadata jsonb[] DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1
AS $$
DECLARE
    vectors real[] := data;
    vectors_text text;
    items text[];
    bad integer;
BEGIN
    PERFORM s3vectors._check_keys(keys);
    IF cardinality(keys) = 0 THEN
        RAISE EXCEPTION 'ValidationException: keys must not be empty' USING ERRCODE = '22023';
    END IF;
    IF vectors IS NULL THEN
        RAISE EXCEPTION 'ValidationException: data must not be NULL' USING ERRCODE = '22023';
    END IF;
    IF array_ndims(vectors) = 1 AND cardinality(keys) = 1 THEN
        vectors := ARRAY[vectors];  -- one key, one vector given as a plain real[]
    END IF;
    IF array_ndims(vectors) IS DISTINCT FROM 2 OR array_length(vectors, 1) <> cardinality(keys) THEN
        RAISE EXCEPTION 'ValidationException: data must hold one vector per key: % keys, data is %',
            cardinality(keys), coalesce(array_dims(vectors), 'empty')
            USING ERRCODE = '22023',
                  HINT = 'Pass a two-dimensional real[], one row per key: array_agg(embedding) builds one.';
    END IF;
    IF metadata IS NOT NULL AND cardinality(metadata) <> cardinality(keys) THEN
        RAISE EXCEPTION 'ValidationException: metadata must have one entry per key: % keys, % metadata',
            cardinality(keys), cardinality(metadata) USING ERRCODE = '22023';
    END IF;
    -- Each row's numbers as JSON, cut from the array's text form ({{1,2},{3,4}}): one float4out
    -- pass over the whole array (slicing row by row would copy the array once per row). Element
    -- texts never hold braces. A NULL, NaN or Infinity shows as an N or an I (numbers only have
    -- digits, signs, dots and a lower-case e); that row is then checked to name key and position.
    vectors_text := vectors::text;
    IF left(vectors_text, 1) = '[' THEN
        vectors_text := substr(vectors_text, strpos(vectors_text, '=') + 1);  -- [0:1][1:3]={...}
    END IF;
    SELECT array_agg('{"key":' || to_json(v.key)::text || ',"data":{"float32":[' || v.numbers || ']}'
                     || coalesce(',"metadata":' || v.meta::text, '') || '}' ORDER BY v.n),
           min(v.n) FILTER (WHERE strpos(v.numbers, 'N') > 0 OR strpos(v.numbers, 'I') > 0)
    INTO items, bad
    FROM ROWS FROM (unnest(keys), unnest(string_to_array(btrim(vectors_text, '{}'), '},{')), unnest(metadata))
         WITH ORDINALITY AS v(key, numbers, meta, n);
    IF bad IS NOT NULL THEN
        PERFORM s3vectors._check_vector(
            ARRAY(SELECT unnest(vectors[bad + array_lower(vectors, 1) - 1 : bad + array_lower(vectors, 1) - 1][:])),
            pg_catalog.format('the vector of key %L', keys[bad + array_lower(keys, 1) - 1]));
    END IF;
    RETURN s3vectors._send_batches('PutVectors',
        s3vectors._index_address(vector_bucket_name, index_name, index_arn), 'vectors', items);
END
$$;
COMMENT ON FUNCTION s3vectors.put_vectors(text, text, text[], real[], jsonb[], text)
    IS 'PutVectors: insert or replace keys[i] with data row i and metadata[i]; returns the count';

-- Many vectors in the API's own JSON shape: [{"key": ..., "data": {"float32": [...]}, "metadata": {...}}]
-- ("data" may also be a plain array of numbers).
CREATE OR REPLACE FUNCTION s3vectors.put_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    vectors jsonb DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(vectors) IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'ValidationException: vectors must be a JSON array of {"key", "data", "metadata"} objects'
            USING ERRCODE = '22023';
    END IF;
    RETURN s3vectors._send_batches('PutVectors',
        s3vectors._index_address(vector_bucket_name, index_name, index_arn), 'vectors',
        ARRAY(SELECT (CASE WHEN jsonb_typeof(v.item -> 'data') = 'array'
                           THEN v.item || jsonb_build_object('data', jsonb_build_object('float32', v.item -> 'data'))
                           ELSE v.item END)::text
              FROM jsonb_array_elements(vectors) WITH ORDINALITY AS v(item, n)
              ORDER BY v.n));
END
$$;
COMMENT ON FUNCTION s3vectors.put_vectors(text, text, jsonb, text)
    IS 'PutVectors: insert or replace vectors given as a JSON array in the API shape; returns the count';

CREATE OR REPLACE FUNCTION s3vectors.delete_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    keys text[] DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM s3vectors._check_keys(keys);
    RETURN s3vectors._send_batches('DeleteVectors',
        s3vectors._index_address(vector_bucket_name, index_name, index_arn), 'keys',
        ARRAY(SELECT to_json(k.key)::text FROM unnest(keys) WITH ORDINALITY AS k(key, n) ORDER BY k.n));
END
$$;
COMMENT ON FUNCTION s3vectors.delete_vectors(text, text, text[], text)
    IS 'DeleteVectors: delete these keys (missing keys are ignored); returns the number of keys sent';

-- ---------------------------------------------------------------------------------------------
-- Reading vectors
-- ---------------------------------------------------------------------------------------------

-- (pgs3v_reader) The vectors with these keys; unknown keys are absent.
CREATE OR REPLACE FUNCTION s3vectors.get_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    keys text[] DEFAULT NULL,
    return_data boolean DEFAULT true,
    return_metadata boolean DEFAULT true,
    index_arn text DEFAULT NULL)
RETURNS TABLE (key text, data real[], metadata jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    address jsonb := s3vectors._index_address(vector_bucket_name, index_name, index_arn);
    with_data boolean := coalesce(return_data, false);
    with_metadata boolean := coalesce(return_metadata, false);
    budget bigint;
    lower_bound integer;
    done integer := 0;
    batch_size integer;
    answer json;
    got integer;
BEGIN
    PERFORM s3vectors._check_keys(keys);
    IF cardinality(keys) = 0 THEN
        PERFORM s3vectors._invoke('GetVectors', address || jsonb_build_object('keys', '[]'::jsonb));
        RETURN;
    END IF;
    -- A Lambda response is limited to 6 MB, like its request: ask for few vectors at first, then
    -- as many as the size of the answers so far says fit (the bridge splits them by 100).
    SELECT s.max_request_bytes INTO budget FROM s3vectors.settings AS s;
    budget := coalesce(budget, 5000000);
    batch_size := CASE WHEN with_data OR with_metadata THEN 32 ELSE 1000 END;
    lower_bound := array_lower(keys, 1);
    WHILE done < cardinality(keys) LOOP
        answer := s3vectors._invoke('GetVectors', address || jsonb_build_object(
            'keys', to_jsonb(keys[lower_bound + done : lower_bound + done + batch_size - 1]),
            'returnData', with_data, 'returnMetadata', with_metadata));
        RETURN QUERY
            SELECT v.item ->> 'key', s3vectors._real_array(v.item #> '{data,float32}'),
                   CASE WHEN with_metadata THEN coalesce((v.item -> 'metadata')::jsonb, '{}'::jsonb) END
            FROM json_array_elements(answer -> 'vectors') WITH ORDINALITY AS v(item, n)
            ORDER BY v.n;
        GET DIAGNOSTICS got = ROW_COUNT;
        done := done + batch_size;
        batch_size := CASE WHEN got > 0
                           THEN greatest(1, least(1000, (budget * 8 / 10 * got / octet_length(answer::text))::integer))
                           ELSE least(1000, batch_size * 2) END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION s3vectors.get_vectors(text, text, text[], boolean, boolean, text)
    IS 'GetVectors: the vectors with these keys, as rows (key, data, metadata)';

-- (pgs3v_writer) Every vector of an index, page after page: a scan, for exports and checks.
CREATE OR REPLACE FUNCTION s3vectors.list_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    max_results integer DEFAULT NULL,
    next_token text DEFAULT NULL,
    segment_count integer DEFAULT NULL,
    segment_index integer DEFAULT NULL,
    return_data boolean DEFAULT false,
    return_metadata boolean DEFAULT false,
    index_arn text DEFAULT NULL)
RETURNS TABLE (key text, data real[], metadata jsonb)
LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 1000
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.item ->> 'key', s3vectors._real_array(p.item #> '{data,float32}'),
           CASE WHEN coalesce($8, false) THEN coalesce((p.item -> 'metadata')::jsonb, '{}'::jsonb) END
    FROM s3vectors._pages('ListVectors',
                          s3vectors._index_address($1, $2, $9) || jsonb_build_object(
                              'nextToken', $4, 'segmentCount', $5, 'segmentIndex', $6,
                              'returnData', coalesce($7, false), 'returnMetadata', coalesce($8, false)),
                          'vectors', $3, 1000) WITH ORDINALITY AS p(item, n)
    ORDER BY p.n
$$;
COMMENT ON FUNCTION s3vectors.list_vectors(text, text, integer, text, integer, integer, boolean, boolean, text)
    IS 'ListVectors: every vector of an index (all pages; max_results caps the rows, segments split the scan)';

-- (pgs3v_reader) The top_k nearest vectors, nearest first. distance is returned unless
-- return_distance => false; metadata only with return_metadata => true (NULL otherwise).
CREATE OR REPLACE FUNCTION s3vectors.query_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    query_vector real[] DEFAULT NULL,
    top_k integer DEFAULT 10,
    filter jsonb DEFAULT NULL,
    return_metadata boolean DEFAULT false,
    return_distance boolean DEFAULT true,
    index_arn text DEFAULT NULL)
RETURNS TABLE (key text, distance real, metadata jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 10
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1
AS $$
DECLARE
    with_metadata boolean := coalesce(return_metadata, false);
    with_distance boolean := coalesce(return_distance, true);
    answer json;
BEGIN
    PERFORM s3vectors._check_vector(query_vector, 'query_vector');
    answer := s3vectors._invoke('QueryVectors',
        s3vectors._index_address(vector_bucket_name, index_name, index_arn)
        || s3vectors._compact(jsonb_build_object(
               'topK', top_k, 'queryVector', jsonb_build_object('float32', to_jsonb(query_vector)),
               'filter', query_vectors.filter, 'returnMetadata', with_metadata,
               'returnDistance', with_distance)));
    RETURN QUERY
        SELECT v.item ->> 'key',
               CASE WHEN with_distance THEN (v.item ->> 'distance')::real END,
               CASE WHEN with_metadata THEN coalesce((v.item -> 'metadata')::jsonb, '{}'::jsonb) END
        FROM json_array_elements(answer -> 'vectors') WITH ORDINALITY AS v(item, n)
        ORDER BY v.n;
END
$$;
COMMENT ON FUNCTION s3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text)
    IS 'QueryVectors: the top_k nearest vectors as rows (key, distance, metadata), nearest first';

-- ---------------------------------------------------------------------------------------------
-- pgvector: overloads taking its vector type, created when the extension is there. Run again
-- after CREATE EXTENSION vector (pgs3v schema install does).
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.enable_pgvector() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    vector_type text;
BEGIN
    SELECT pg_catalog.format('%I.%I', n.nspname, t.typname) INTO vector_type
    FROM pg_catalog.pg_extension AS e
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.refobjid = e.oid
     AND d.classid = 'pg_catalog.pg_type'::regclass
    JOIN pg_catalog.pg_type AS t ON t.oid = d.objid
    JOIN pg_catalog.pg_namespace AS n ON n.oid = t.typnamespace
    WHERE e.extname = 'vector' AND t.typname = 'vector';
    IF vector_type IS NULL THEN
        RETURN false;
    END IF;
    -- vector_type comes from the catalog, quoted with %I; nothing here comes from a caller.
    EXECUTE pg_catalog.format($ddl$
        CREATE OR REPLACE FUNCTION s3vectors.query_vectors(
            vector_bucket_name text DEFAULT NULL, index_name text DEFAULT NULL,
            query_vector %1$s DEFAULT NULL, top_k integer DEFAULT 10, filter jsonb DEFAULT NULL,
            return_metadata boolean DEFAULT false, return_distance boolean DEFAULT true,
            index_arn text DEFAULT NULL)
        RETURNS TABLE (key text, distance real, metadata jsonb)
        LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 10
        SET search_path = pg_catalog, pg_temp
        AS 'SELECT q.key, q.distance, q.metadata
            FROM s3vectors.query_vectors($1, $2, $3::real[], $4, $5, $6, $7, $8) AS q'
    $ddl$, vector_type);
    EXECUTE pg_catalog.format($ddl$
        CREATE OR REPLACE FUNCTION s3vectors.put_vector(
            vector_bucket_name text DEFAULT NULL, index_name text DEFAULT NULL, key text DEFAULT NULL,
            data %1$s DEFAULT NULL, metadata jsonb DEFAULT NULL, index_arn text DEFAULT NULL)
        RETURNS void
        LANGUAGE sql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS 'SELECT s3vectors.put_vector($1, $2, $3, $4::real[], $5, $6)'
    $ddl$, vector_type);
    EXECUTE pg_catalog.format($ddl$
        CREATE OR REPLACE FUNCTION s3vectors.put_vectors(
            vector_bucket_name text DEFAULT NULL, index_name text DEFAULT NULL, keys text[] DEFAULT NULL,
            data %1$s[] DEFAULT NULL, metadata jsonb[] DEFAULT NULL, index_arn text DEFAULT NULL)
        RETURNS integer
        LANGUAGE sql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp
        AS 'SELECT s3vectors.put_vectors($1, $2, $3,
                (SELECT array_agg(v::real[] ORDER BY n) FROM unnest($4) WITH ORDINALITY AS u(v, n)), $5, $6)'
    $ddl$, vector_type);
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION s3vectors.query_vectors(text, text, %1$s, integer, jsonb, '
                              'boolean, boolean, text) FROM PUBLIC', vector_type);
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION s3vectors.put_vector(text, text, text, %1$s, jsonb, text) '
                              'FROM PUBLIC', vector_type);
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION s3vectors.put_vectors(text, text, text[], %1$s[], jsonb[], '
                              'text) FROM PUBLIC', vector_type);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION s3vectors.query_vectors(text, text, %1$s, integer, jsonb, '
                              'boolean, boolean, text) TO pgs3v_reader', vector_type);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION s3vectors.put_vector(text, text, text, %1$s, jsonb, text) '
                              'TO pgs3v_writer', vector_type);
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION s3vectors.put_vectors(text, text, text[], %1$s[], jsonb[], '
                              'text) TO pgs3v_writer', vector_type);
    RETURN true;
END
$$;
COMMENT ON FUNCTION s3vectors.enable_pgvector()
    IS 'pgs3v: add the overloads taking pgvector''s vector type (true when the extension is installed)';

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------

REVOKE ALL ON SCHEMA s3vectors FROM PUBLIC;
GRANT USAGE ON SCHEMA s3vectors TO pgs3v_reader;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA s3vectors FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    s3vectors.schema_version(),
    s3vectors.function_name(),
    s3vectors.error_sqlstate(text),
    s3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text),
    s3vectors.get_vectors(text, text, text[], boolean, boolean, text)
TO pgs3v_reader;

GRANT EXECUTE ON FUNCTION
    s3vectors.put_vector(text, text, text, real[], jsonb, text),
    s3vectors.put_vectors(text, text, text[], real[], jsonb[], text),
    s3vectors.put_vectors(text, text, jsonb, text),
    s3vectors.delete_vectors(text, text, text[], text),
    s3vectors.list_vectors(text, text, integer, text, integer, integer, boolean, boolean, text)
TO pgs3v_writer;

GRANT EXECUTE ON FUNCTION
    s3vectors.create_vector_bucket(text, jsonb, jsonb),
    s3vectors.get_vector_bucket(text, text),
    s3vectors.list_vector_buckets(text, integer, text),
    s3vectors.delete_vector_bucket(text, text),
    s3vectors.create_index(text, text, integer, text, text, text[], text, jsonb, jsonb),
    s3vectors.get_index(text, text, text),
    s3vectors.list_indexes(text, text, integer, text, text),
    s3vectors.delete_index(text, text, text)
TO pgs3v_admin;

DO $pgvector$ BEGIN PERFORM s3vectors.enable_pgvector(); END $pgvector$;

-- ---------------------------------------------------------------------------------------------
-- Hybrid search helpers
--
-- query_vectors_paged walks the ranking of a query page after page (QueryVectors with nextToken)
-- and returns its rows one at a time, nearest first, so that a relational predicate can filter
-- them and a LIMIT end the walk: the next page is fetched only when the caller asks for a row
-- past the current one. See docs/hybrid-queries.md for the query shapes that keep it lazy.
-- Stops when the caller stops asking, when the store returns no nextToken (no more matches),
-- after max_depth rows, or at an empty page.
-- ---------------------------------------------------------------------------------------------

-- The QueryVectors request of a paged walk (without nextToken), with its arguments checked.
CREATE OR REPLACE FUNCTION s3vectors._paged_query_request(
    address jsonb, query_vector real[], top_k integer, filter jsonb, return_metadata boolean,
    return_distance boolean, max_depth integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET extra_float_digits = 1  -- the query vector goes into JSON exactly, whatever the session says
AS $$
BEGIN
    PERFORM s3vectors._check_vector(query_vector, 'query_vector');
    IF max_depth IS NULL OR max_depth < 1 THEN
        RAISE EXCEPTION 'ValidationException: max_depth must be at least 1, got %', coalesce(max_depth::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF top_k IS NULL OR top_k < 1 THEN
        RAISE EXCEPTION 'ValidationException: top_k must be at least 1, got %', coalesce(top_k::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    -- The same topK on every page: a nextToken is only valid for the request that returned it.
    RETURN address || s3vectors._compact(jsonb_build_object(
        'topK', least(top_k, max_depth), 'queryVector', jsonb_build_object('float32', to_jsonb(query_vector)),
        'filter', filter, 'returnMetadata', coalesce(return_metadata, false),
        'returnDistance', coalesce(return_distance, true)));
END
$$;

-- (pgs3v_reader) The ranking of a query, nearest first, fetched a page of top_k at a time.
-- Lazy where PostgreSQL asks for rows one at a time, i.e. called in a SELECT list:
--     SELECT p.sku, q.distance
--     FROM (SELECT (s3vectors.query_vectors_paged('catalog', 'products', $1)).*) AS q
--     JOIN products AS p ON p.sku = q.key
--     WHERE p.price < 20
--     LIMIT 10;
-- No ORDER BY under the LIMIT (rows already come nearest first), and the query vector a parameter
-- or a column: with a subquery among the arguments, (f(...)).* walks once per column. In FROM,
-- PostgreSQL collects every row before the first is used: the same result, but all pages up to
-- max_depth are fetched. rank is the 1-based position in the ranking.
CREATE OR REPLACE FUNCTION s3vectors.query_vectors_paged(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    query_vector real[] DEFAULT NULL,
    top_k integer DEFAULT 100,
    filter jsonb DEFAULT NULL,
    max_depth integer DEFAULT 1000,
    return_metadata boolean DEFAULT false,
    return_distance boolean DEFAULT true,
    index_arn text DEFAULT NULL)
RETURNS TABLE (key text, distance real, metadata jsonb, rank integer)
-- Each row may cost a round trip to the store, and there may be many: estimates that keep the
-- planner from reading the whole walk (to hash or sort it) when a LIMIT needs only its start.
LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 1000 COST 10000
SET search_path = pg_catalog, pg_temp
AS $$
    WITH RECURSIVE request AS (
        SELECT s3vectors._paged_query_request(
                   s3vectors._index_address(vector_bucket_name, index_name, index_arn), query_vector, top_k,
                   query_vectors_paged.filter, return_metadata, return_distance, max_depth) AS body
    ), pages (answer, before) AS (
        SELECT s3vectors._invoke('QueryVectors', request.body), 0
        FROM request
      UNION ALL
        -- A recursive CTE runs this step only when the rows so far have all been read.
        SELECT s3vectors._invoke('QueryVectors',
                                 request.body || jsonb_build_object('nextToken', pages.answer ->> 'nextToken')),
               pages.before + json_array_length(pages.answer -> 'vectors')
        FROM pages, request
        WHERE pages.answer ->> 'nextToken' IS NOT NULL
          AND json_array_length(pages.answer -> 'vectors') > 0
          AND pages.before + json_array_length(pages.answer -> 'vectors') < max_depth
    )
    SELECT v.item ->> 'key',
           CASE WHEN coalesce(return_distance, true) THEN (v.item ->> 'distance')::real END,
           CASE WHEN coalesce(return_metadata, false) THEN coalesce((v.item -> 'metadata')::jsonb, '{}'::jsonb) END,
           (pages.before + v.n)::integer
    FROM pages
    CROSS JOIN LATERAL json_array_elements(pages.answer -> 'vectors') WITH ORDINALITY AS v(item, n)
    WHERE pages.before + v.n <= max_depth
$$;
COMMENT ON FUNCTION s3vectors.query_vectors_paged(text, text, real[], integer, jsonb, integer, boolean, boolean, text)
    IS 'QueryVectors page after page (nextToken): the ranking as rows (key, distance, metadata, rank), nearest '
       'first, fetched lazily up to max_depth rows';

REVOKE ALL ON FUNCTION
    s3vectors._paged_query_request(jsonb, real[], integer, jsonb, boolean, boolean, integer),
    s3vectors.query_vectors_paged(text, text, real[], integer, jsonb, integer, boolean, boolean, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    s3vectors.query_vectors_paged(text, text, real[], integer, jsonb, integer, boolean, boolean, text)
TO pgs3v_reader;

-- ---------------------------------------------------------------------------------------------
-- End of hybrid search helpers
-- ---------------------------------------------------------------------------------------------

RESET ROLE;
COMMIT;
