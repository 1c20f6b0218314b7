-- pgs3v 0.4.0 -> 0.5.0: full-text and hybrid search from SQL (issue 13).
--
-- QueryVectors takes queryTexts (full-text queries on searchable metadata keys), returnScores and
-- queryMode, and answers each result with scores (fused, bm25Scores, vectorDistance). So
-- s3vectors.query_vectors gains three arguments, after 0.4.0's eight so that positional calls keep
-- their meaning:
--   * query_texts jsonb: the API's list [{"metadataKey": "description", "text": "..."}], or, shorter,
--     an object {"description": "..."} (one entry per key, as the API requires anyway);
--   * return_scores boolean (false): ask for scores, which the service adds to text and hybrid
--     results only;
--   * query_mode text: 'CLASSIC' or 'ENHANCED' for this query (NULL: the index's mode);
-- query_vector may now be NULL when query_texts is given (a full-text-only search), and three
-- result columns are appended: fused_score real, bm25_scores jsonb ({"description": 3.1}, the
-- API's list by key), vector_distance real, each NULL when the service did not return it.
-- A vector-only call sends the same request as in 0.4.0 and returns the same rows.
--
-- PostgreSQL cannot change a function's arguments or result columns in place: the function is
-- dropped and created again, by its owner, with its comment and the grants it had (pgs3v_reader's,
-- and any a database owner added). Objects of the database's own that depend on the 0.4.0
-- function (a view selecting from it, a BEGIN ATOMIC function) would have to be dropped with it:
-- the upgrade stops instead and names them. The pgvector overload (query_vector of type vector)
-- keeps its 0.4.0 shape and calls the new function with its eight arguments; for text or hybrid
-- queries pass embedding::real[]. query_vectors_paged and the other functions do not call
-- query_vectors; they are unchanged.
--
-- A fresh install runs pgs3v--0.1.0.sql, the upgrades to 0.4.0 and then this file (pgs3v schema
-- install does); running this file again is harmless.

BEGIN;

DO $guard$
DECLARE
    installed text;
BEGIN
    IF pg_catalog.to_regprocedure('s3vectors.schema_version()') IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not installed here; this file upgrades 0.4.0 to 0.5.0'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run sql/pgs3v--0.1.0.sql and the upgrades to 0.4.0 first (pgs3v schema install does).';
    END IF;
    EXECUTE 'SELECT s3vectors.schema_version()' INTO installed;
    IF installed NOT IN ('0.4.0', '0.5.0') THEN
        RAISE EXCEPTION 'pgs3v % is installed here; this file upgrades 0.4.0 to 0.5.0', installed
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$guard$;

-- ---------------------------------------------------------------------------------------------
-- query_vectors' 0.4.0 signature: check what depends on it and keep its grants, then drop it
-- ---------------------------------------------------------------------------------------------

-- Dropped and created by their owner, so each keeps owner pgs3v_owner.
SET LOCAL ROLE pgs3v_owner;

DO $old$
DECLARE
    old_function regprocedure := pg_catalog.to_regprocedure(
        's3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text)');
    dependents text;
BEGIN
    IF old_function IS NULL THEN
        RETURN;  -- already upgraded
    END IF;
    -- A view depends through its rewrite rule: name the view.
    SELECT pg_catalog.string_agg(DISTINCT coalesce(
               (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::regclass, r.ev_class, 0)
                FROM pg_catalog.pg_rewrite AS r
                WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND r.oid = d.objid),
               pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)), ', ')
    INTO dependents
    FROM pg_catalog.pg_depend AS d
    WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = old_function AND d.deptype = 'n';
    IF dependents IS NOT NULL THEN
        RAISE EXCEPTION 'cannot upgrade pgs3v to 0.5.0: % depend on s3vectors.query_vectors, whose arguments and '
                        'result columns change', dependents
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Drop them, run the upgrade, and create them again: 0.4.0''s calls still work in 0.5.0.';
    END IF;
    -- Grants other than the owner's, restored on the new function below (transaction-local): a JSON
    -- list of role names (any character may be in one), NULL for PUBLIC.
    PERFORM pg_catalog.set_config('pgs3v.query_vectors_grantees', coalesce((
        SELECT pg_catalog.jsonb_agg(CASE WHEN a.grantee <> 0 THEN pg_catalog.pg_get_userbyid(a.grantee) END)
        FROM pg_catalog.pg_proc AS p, pg_catalog.aclexplode(p.proacl) AS a
        WHERE p.oid = old_function AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), '[]')::text, true);
    EXECUTE pg_catalog.format('DROP FUNCTION %s', old_function);
END
$old$;

-- ---------------------------------------------------------------------------------------------
-- Version
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '0.5.0'::text $$;

-- ---------------------------------------------------------------------------------------------
-- Internals (owner only)
-- ---------------------------------------------------------------------------------------------

-- queryTexts as the API takes it: the list as given, or {"key": "text", ...} turned into one.
CREATE OR REPLACE FUNCTION s3vectors._query_texts(query_texts jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE jsonb_typeof(query_texts)
        WHEN 'array' THEN
            RETURN query_texts;
        WHEN 'object' THEN
            RETURN (SELECT jsonb_agg(jsonb_build_object('metadataKey', t.key, 'text', t.value) ORDER BY t.key)
                    FROM jsonb_each(query_texts) AS t);
        ELSE
            RAISE EXCEPTION 'ValidationException: query_texts must be a list [{"metadataKey": ..., "text": ...}] '
                            'or an object {"key": "text"}, got %', coalesce(jsonb_typeof(query_texts), 'NULL')
                USING ERRCODE = '22023';
    END CASE;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Reading vectors (pgs3v_reader)
-- ---------------------------------------------------------------------------------------------

-- (pgs3v_reader) The top_k results, best first: every page of the answer. A vector query ranks by
-- distance, a text query (query_texts) by BM25, both by Reciprocal Rank Fusion. distance is
-- returned unless return_distance => false; metadata only with return_metadata => true; the scores
-- only with return_scores => true, and only for text and hybrid queries (NULL otherwise).
CREATE OR REPLACE FUNCTION s3vectors.query_vectors(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    query_vector real[] DEFAULT NULL,
    top_k integer DEFAULT 10,
    filter jsonb DEFAULT NULL,
    return_metadata boolean DEFAULT false,
    return_distance boolean DEFAULT true,
    index_arn text DEFAULT NULL,
    query_texts jsonb DEFAULT NULL,
    return_scores boolean DEFAULT false,
    query_mode text DEFAULT NULL)
RETURNS TABLE (key text, distance real, metadata jsonb, fused_score real, bm25_scores jsonb, vector_distance real)
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
    -- Without query texts a vector is required, as before; with them it is optional (text only).
    IF query_vector IS NOT NULL OR query_texts IS NULL THEN
        PERFORM s3vectors._check_vector(query_vector, 'query_vector');
    END IF;
    -- Fields left out rather than sent as false or null: a vector-only request is 0.4.0's.
    request := s3vectors._index_address(vector_bucket_name, index_name, index_arn)
        || s3vectors._compact(jsonb_build_object(
               'topK', top_k,
               'queryVector', CASE WHEN query_vector IS NOT NULL
                                   THEN jsonb_build_object('float32', to_jsonb(query_vector)) END,
               'queryTexts', CASE WHEN query_texts IS NOT NULL THEN s3vectors._query_texts(query_texts) END,
               'filter', query_vectors.filter, 'queryMode', query_mode,
               'returnMetadata', with_metadata, 'returnDistance', with_distance,
               'returnScores', CASE WHEN return_scores THEN true END));
    LOOP
        -- Every page repeats the request: the service binds a nextToken to its query.
        answer := s3vectors._invoke('QueryVectors',
                                    request || s3vectors._compact(jsonb_build_object('nextToken', token)));
        RETURN QUERY
            SELECT v.item ->> 'key',
                   CASE WHEN with_distance THEN (v.item ->> 'distance')::real END,
                   CASE WHEN with_metadata THEN coalesce((v.item -> 'metadata')::jsonb, '{}'::jsonb) END,
                   (v.item #>> '{scores,fused}')::real,
                   (SELECT jsonb_object_agg(s.score ->> 'metadataKey', (s.score -> 'score')::jsonb)
                    FROM json_array_elements(v.item #> '{scores,bm25Scores}') AS s(score)),
                   (v.item #>> '{scores,vectorDistance}')::real
            FROM json_array_elements(answer -> 'vectors') WITH ORDINALITY AS v(item, n)
            ORDER BY v.n;
        token := answer ->> 'nextToken';
        EXIT WHEN token IS NULL OR json_array_length(answer -> 'vectors') = 0;
    END LOOP;
END
$$;
COMMENT ON FUNCTION s3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text, jsonb,
                                            boolean, text)
    IS 'QueryVectors: the top_k results as rows (key, distance, metadata, fused_score, bm25_scores, '
       'vector_distance), best first: by distance, BM25 (query_texts) or RRF (both)';

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------

REVOKE ALL ON FUNCTION
    s3vectors._query_texts(jsonb),
    s3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text, jsonb, boolean, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    s3vectors.query_vectors(text, text, real[], integer, jsonb, boolean, boolean, text, jsonb, boolean, text)
TO pgs3v_reader;

-- The grants the 0.4.0 function had beyond pgs3v_reader's (set above; empty when run again).
DO $grants$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN SELECT g FROM pg_catalog.jsonb_array_elements_text(
            coalesce(nullif(pg_catalog.current_setting('pgs3v.query_vectors_grantees', true), ''), '[]')::jsonb) AS g
    LOOP
        -- Names from the catalog, quoted with %I; NULL is PUBLIC.
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION s3vectors.query_vectors(text, text, real[], integer, '
                                  'jsonb, boolean, boolean, text, jsonb, boolean, text) TO %s',
                                  coalesce(pg_catalog.quote_ident(grantee), 'PUBLIC'));
    END LOOP;
END
$grants$;

RESET ROLE;
COMMIT;
