-- pgs3v 0.1.0 -> 0.2.0: QueryVectors' topK is the total number of results, split into pages.
--
-- Amazon S3 Vectors documents topK as the number of results of a query (up to 10,000 since
-- 2026-06-16), returned "across multiple pages" linked by nextToken when it exceeds the page size;
-- 0.1.0 was written for a store that used topK as a page size. So:
--   * query_vectors follows nextToken until the service stops sending one, and returns all topK
--     rows (0.1.0 returned the first page only, which was all of them while topK was at most 100);
--   * query_vectors_paged asks for topK = max_depth, the whole walk, and still fetches its pages
--     lazily; its top_k argument (0.1.0's page size) is kept so that calls written for 0.1.0 still
--     run, and has no effect: the service sets the page size.
-- Signatures, owners and grants do not change. A fresh install runs pgs3v--0.1.0.sql and then this
-- file (pgs3v schema install does); running this file again is harmless.

BEGIN;

DO $guard$
DECLARE
    installed text;
BEGIN
    IF pg_catalog.to_regprocedure('s3vectors.schema_version()') IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not installed here; this file upgrades 0.1.0 to 0.2.0'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run sql/pgs3v--0.1.0.sql first (pgs3v schema install does both).';
    END IF;
    EXECUTE 'SELECT s3vectors.schema_version()' INTO installed;
    IF installed NOT IN ('0.1.0', '0.2.0') THEN
        RAISE EXCEPTION 'pgs3v % is installed here; this file upgrades 0.1.0 to 0.2.0', installed
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$guard$;

-- Replaced in place by their owner, so each keeps its privileges.
SET LOCAL ROLE pgs3v_owner;

CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '0.2.0'::text $$;

-- (pgs3v_reader) The top_k nearest vectors, nearest first: every page of the answer.
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
    request jsonb;
    answer json;
    token text;
BEGIN
    PERFORM s3vectors._check_vector(query_vector, 'query_vector');
    request := s3vectors._index_address(vector_bucket_name, index_name, index_arn)
        || s3vectors._compact(jsonb_build_object(
               'topK', top_k, 'queryVector', jsonb_build_object('float32', to_jsonb(query_vector)),
               'filter', query_vectors.filter, 'returnMetadata', with_metadata,
               'returnDistance', with_distance));
    LOOP
        -- Every page repeats the request: the service binds a nextToken to its query.
        answer := s3vectors._invoke('QueryVectors',
                                    request || s3vectors._compact(jsonb_build_object('nextToken', token)));
        RETURN QUERY
            SELECT v.item ->> 'key',
                   CASE WHEN with_distance THEN (v.item ->> 'distance')::real END,
                   CASE WHEN with_metadata THEN coalesce((v.item -> 'metadata')::jsonb, '{}'::jsonb) END
            FROM json_array_elements(answer -> 'vectors') WITH ORDINALITY AS v(item, n)
            ORDER BY v.n;
        token := answer ->> 'nextToken';
        EXIT WHEN token IS NULL OR json_array_length(answer -> 'vectors') = 0;
    END LOOP;
END
$$;

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
    -- topK is the whole walk; the service splits it into pages, which the walk fetches only as its
    -- rows are read. top_k, 0.1.0's page size, is not sent.
    RETURN address || s3vectors._compact(jsonb_build_object(
        'topK', max_depth, 'queryVector', jsonb_build_object('float32', to_jsonb(query_vector)),
        'filter', filter, 'returnMetadata', coalesce(return_metadata, false),
        'returnDistance', coalesce(return_distance, true)));
END
$$;

COMMENT ON FUNCTION s3vectors.query_vectors_paged(text, text, real[], integer, jsonb, integer, boolean, boolean, text)
    IS 'QueryVectors with topK = max_depth, page after page (nextToken): the ranking as rows (key, distance, '
       'metadata, rank), nearest first, fetched lazily; top_k has no effect since 0.2.0';

RESET ROLE;
COMMIT;
