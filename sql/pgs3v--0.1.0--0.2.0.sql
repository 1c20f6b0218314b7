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
-- 0.1.0's signatures, owners and grants do not change.
--
-- And sync (docs/sync.md): s3vectors.enable_sync installs triggers that record every change of a
-- table's rows in an outbox in the same transaction; s3vectors.sync_run (or `pgs3v sync`, over
-- the same functions) sends the current rows of the changed keys to the index and empties the
-- outbox only after the store acknowledged; s3vectors.sync_status and s3vectors.sync_pending tell
-- how far behind an index is.
--
-- A fresh install runs pgs3v--0.1.0.sql and then this file (pgs3v schema install does); running
-- this file again is harmless.

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

-- ---------------------------------------------------------------------------------------------
-- Sync: keep an index equal to a table (docs/sync.md)
--
-- A mapping names a table, its key and embedding columns, the metadata to send, and an index.
-- Statement-level triggers record the key of every inserted, updated (when a synced column
-- changed) and deleted row in the outbox, in the changing transaction: a rollback leaves nothing.
-- A drain claims outbox rows, reads each claimed key's row as it is now, and puts it (or deletes
-- the key when the row is gone or has no embedding); it deletes the outbox rows only after the
-- store acknowledged, so a crash at any point repeats idempotent writes and loses none.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS s3vectors._sync_mapping (
    mapping_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source regclass NOT NULL,
    key_column name NOT NULL,
    embedding_column name NOT NULL,
    vector_bucket_name text NOT NULL,
    index_name text NOT NULL,
    dimension integer NOT NULL,
    metadata_columns name[] NOT NULL DEFAULT '{}',
    metadata_function regprocedure,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, vector_bucket_name, index_name)
);
REVOKE ALL ON s3vectors._sync_mapping FROM PUBLIC;

CREATE TABLE IF NOT EXISTS s3vectors._sync_outbox (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mapping_id integer NOT NULL REFERENCES s3vectors._sync_mapping ON DELETE CASCADE,
    key text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS _sync_outbox_order ON s3vectors._sync_outbox (mapping_id, change_id);
CREATE INDEX IF NOT EXISTS _sync_outbox_key ON s3vectors._sync_outbox (mapping_id, key);
REVOKE ALL ON s3vectors._sync_outbox FROM PUBLIC;

CREATE TABLE IF NOT EXISTS s3vectors._sync_state (
    mapping_id integer PRIMARY KEY REFERENCES s3vectors._sync_mapping ON DELETE CASCADE,
    -- Set by TRUNCATE (which records no keys): the index may hold keys the table no longer has.
    reconcile_needed_since timestamptz,
    last_success timestamptz,
    last_error text,
    last_error_at timestamptz,
    vectors_put bigint NOT NULL DEFAULT 0,
    vectors_deleted bigint NOT NULL DEFAULT 0,
    -- Rows whose embedding is NULL: their keys are kept out of the index (deleted), and counted.
    rows_without_embedding bigint NOT NULL DEFAULT 0,
    -- Rows whose embedding the index cannot take (wrong dimension, NULL or non-finite elements):
    -- also kept out of the index, counted, and the last one named in last_skip.
    rows_skipped bigint NOT NULL DEFAULT 0,
    last_skip text,
    -- `pgs3v sync backfill`: the last key it queued (keys are queued in the key column's order),
    -- so that an interrupted backfill resumes there; finished_at is set when it reached the end.
    backfill_after text,
    backfill_started_at timestamptz,
    backfill_finished_at timestamptz,
    last_reconcile_at timestamptz
);
REVOKE ALL ON s3vectors._sync_state FROM PUBLIC;

-- The mappings, as users see them (those of dropped tables are left out: their sync ended).
CREATE OR REPLACE VIEW s3vectors.sync_mappings AS
    SELECT m.mapping_id, m.source, m.key_column, m.embedding_column, m.vector_bucket_name, m.index_name,
           m.dimension, m.metadata_columns, m.metadata_function, m.created_at
    FROM s3vectors._sync_mapping AS m
    WHERE EXISTS (SELECT FROM pg_catalog.pg_class AS c WHERE c.oid = m.source);
COMMENT ON VIEW s3vectors.sync_mappings IS 'pgs3v sync: which table is kept in step with which index';

-- The embedding column types a mapping accepts: real[], double precision[], pgvector's vector.
CREATE OR REPLACE FUNCTION s3vectors._sync_embedding_type(type_oid oid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT $1 IN ('real[]'::regtype, 'double precision[]'::regtype)
        OR EXISTS (SELECT FROM pg_catalog.pg_type AS t
                   JOIN pg_catalog.pg_depend AS d
                     ON d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
                   JOIN pg_catalog.pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'vector'
                   WHERE t.oid = $1 AND t.typname = 'vector')
$$;

-- The number of a table's column, or an error naming the column that is missing.
CREATE OR REPLACE FUNCTION s3vectors._sync_column(source regclass, column_name name, what text) RETURNS smallint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    number smallint;
BEGIN
    SELECT a.attnum INTO number FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = source AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF number IS NULL THEN
        RAISE EXCEPTION 'pgs3v sync: table % has no column % (the %)', source, coalesce(column_name::text, 'NULL'), what
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN number;
END
$$;

-- Check a mapping's table and columns, and record it with the index's dimension. Called by
-- enable_sync, which then creates the triggers as the table's owner.
CREATE OR REPLACE FUNCTION s3vectors._sync_register(
    source regclass, key_column name, embedding_column name, vector_bucket_name text, index_name text,
    metadata_columns name[], metadata_function regprocedure)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relation_kind "char";
    relation_owner oid;
    row_type oid;
    key_number smallint;
    key_not_null boolean;
    embedding_type oid;
    embedding_typmod integer;
    column_name name;
    key_indexes integer;
    index_dimension integer;
    id integer;
BEGIN
    IF source IS NULL OR vector_bucket_name IS NULL OR index_name IS NULL THEN
        RAISE EXCEPTION 'pgs3v sync: source, vector_bucket_name and index_name must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Dropping a table drops its triggers, and so ends its sync; forget such mappings (and their
    -- outbox rows) here, so that a table of the same name created again can be synced.
    DELETE FROM s3vectors._sync_mapping AS m
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_class AS c WHERE c.oid = m.source);
    SELECT c.relkind, c.relowner, c.reltype INTO relation_kind, relation_owner, row_type
    FROM pg_catalog.pg_class AS c WHERE c.oid = source;
    IF relation_kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'pgs3v sync: % is not a table (views, foreign tables and others cannot be synced)', source
            USING ERRCODE = 'wrong_object_type';
    END IF;
    -- enable_sync checked current_user; the session's login role must own the table too, so that
    -- nobody maps a table through this function without being its owner.
    IF NOT pg_catalog.pg_has_role(session_user, relation_owner, 'MEMBER') THEN
        RAISE EXCEPTION 'pgs3v sync: must be owner of table %', source USING ERRCODE = 'insufficient_privilege';
    END IF;
    key_number := s3vectors._sync_column(source, key_column, 'key column');
    SELECT a.attnotnull INTO key_not_null FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = source AND a.attnum = key_number;
    SELECT a.atttypid, a.atttypmod INTO embedding_type, embedding_typmod FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = source AND a.attnum = s3vectors._sync_column(source, embedding_column, 'embedding column');
    FOREACH column_name IN ARRAY coalesce(metadata_columns, '{}') LOOP
        PERFORM s3vectors._sync_column(source, column_name, 'metadata column');
    END LOOP;
    -- The key: one column, never NULL, unique by an index of its own (a primary key or UNIQUE).
    SELECT count(*) INTO key_indexes FROM pg_catalog.pg_index AS i
    WHERE i.indrelid = source AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = key_number
      AND i.indpred IS NULL AND i.indexprs IS NULL;
    IF key_indexes = 0 THEN
        IF EXISTS (SELECT FROM pg_catalog.pg_index AS i
                   WHERE i.indrelid = source AND i.indisunique AND key_number = ANY(i.indkey::int2[])) THEN
            RAISE EXCEPTION 'pgs3v sync: % is part of a composite key of %; a vector key is one column', key_column, source
                USING ERRCODE = 'invalid_table_definition',
                      HINT = 'Add a column that holds the whole key (for example a generated column) with a UNIQUE index.';
        END IF;
        RAISE EXCEPTION 'pgs3v sync: the key column % of % has no primary key or unique index of its own', key_column, source
            USING ERRCODE = 'invalid_table_definition',
                  HINT = pg_catalog.format('ALTER TABLE %s ADD UNIQUE (%I);', source, key_column);
    END IF;
    IF NOT key_not_null THEN
        RAISE EXCEPTION 'pgs3v sync: the key column % of % may be NULL', key_column, source
            USING ERRCODE = 'invalid_table_definition',
                  HINT = pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL;', source, key_column);
    END IF;
    IF NOT s3vectors._sync_embedding_type(embedding_type) THEN
        RAISE EXCEPTION 'pgs3v sync: the embedding column % of % is %, not real[], double precision[] or vector',
            embedding_column, source, pg_catalog.format_type(embedding_type, embedding_typmod)
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF metadata_function IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc AS p
                       WHERE p.oid = metadata_function AND p.pronargs = 1 AND p.proargtypes[0] = row_type
                         AND p.prorettype = 'jsonb'::regtype AND NOT p.proretset) THEN
            RAISE EXCEPTION 'pgs3v sync: the metadata function % must take one row of % and return jsonb',
                metadata_function, source
                USING ERRCODE = 'datatype_mismatch',
                      HINT = pg_catalog.format('CREATE FUNCTION ... (r %s) RETURNS jsonb ...', source);
        END IF;
    END IF;
    index_dimension := (s3vectors.get_index(vector_bucket_name, index_name)).dimension;
    -- pgvector's vector(n) declares n as its type modifier; arrays declare none.
    IF embedding_type NOT IN ('real[]'::regtype, 'double precision[]'::regtype) AND embedding_typmod > 0
       AND embedding_typmod <> index_dimension THEN
        RAISE EXCEPTION 'pgs3v sync: % is vector(%), but index % of bucket % has dimension %', embedding_column,
            embedding_typmod, index_name, vector_bucket_name, index_dimension
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    INSERT INTO s3vectors._sync_mapping AS m (source, key_column, embedding_column, vector_bucket_name, index_name,
                                             dimension, metadata_columns, metadata_function)
    VALUES (source, key_column, embedding_column, vector_bucket_name, index_name, index_dimension,
            coalesce(metadata_columns, '{}'), metadata_function)
    RETURNING m.mapping_id INTO id;
    INSERT INTO s3vectors._sync_state (mapping_id) VALUES (id);
    RETURN id;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'pgs3v sync: % is already synced to index % of bucket %', source, index_name, vector_bucket_name
        USING ERRCODE = 'duplicate_object';
END
$$;

-- (pgs3v_admin, the table's owner) Keep index_name equal to the table source from now on; returns
-- the mapping's id. Existing rows are not sent: `pgs3v sync backfill` loads them.
CREATE OR REPLACE FUNCTION s3vectors.enable_sync(
    source regclass,
    key_column name,
    embedding_column name,
    vector_bucket_name text,
    index_name text,
    metadata_columns name[] DEFAULT '{}',
    metadata_function regprocedure DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE  -- not SECURITY DEFINER: the triggers are created as the caller, the table's owner
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id integer;
    owner oid;
    wrong_dimension text;
BEGIN
    SELECT c.relowner INTO owner FROM pg_catalog.pg_class AS c WHERE c.oid = source;
    IF owner IS NOT NULL AND NOT pg_catalog.pg_has_role(current_user, owner, 'USAGE') THEN
        RAISE EXCEPTION 'pgs3v sync: must be owner of table %', source USING ERRCODE = 'insufficient_privilege';
    END IF;
    id := s3vectors._sync_register(source, key_column, embedding_column, vector_bucket_name, index_name,
                                   metadata_columns, metadata_function);
    -- Arrays declare no dimension: a row already in the table tells whether it fits the index.
    EXECUTE pg_catalog.format(
        'SELECT (t.%1$I)::text FROM %2$s AS t WHERE t.%3$I IS NOT NULL AND '
        'coalesce(pg_catalog.array_length((t.%3$I)::real[], 1), 0) <> $1 LIMIT 1',
        key_column, source, embedding_column)
    INTO wrong_dimension
    USING (SELECT m.dimension FROM s3vectors._sync_mapping AS m WHERE m.mapping_id = id);
    IF wrong_dimension IS NOT NULL THEN
        RAISE EXCEPTION 'pgs3v sync: the embedding of key % in % does not have the dimension of index % of bucket %',
            wrong_dimension, source, index_name, vector_bucket_name
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS s3v_new '
        'FOR EACH STATEMENT EXECUTE FUNCTION s3vectors._sync_capture(%L)',
        'pgs3v_sync_' || id || '_insert', source, id);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS s3v_old NEW TABLE AS s3v_new '
        'FOR EACH STATEMENT EXECUTE FUNCTION s3vectors._sync_capture(%L)',
        'pgs3v_sync_' || id || '_update', source, id);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS s3v_old '
        'FOR EACH STATEMENT EXECUTE FUNCTION s3vectors._sync_capture(%L)',
        'pgs3v_sync_' || id || '_delete', source, id);
    EXECUTE pg_catalog.format(
        'CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION s3vectors._sync_capture(%L)',
        'pgs3v_sync_' || id || '_truncate', source, id);
    RETURN id;
END
$$;
COMMENT ON FUNCTION s3vectors.enable_sync(regclass, name, name, text, text, name[], regprocedure)
    IS 'pgs3v sync: record every change of the table''s rows for the index; returns the mapping id';

-- The boolean SQL expression, over the transition tables' rows o (old) and n (new), that tells
-- whether an UPDATE changed what the index holds for the row. Built from the mapping's column
-- names (quoted with %I); to_jsonb compares any type without looking up operators by name.
CREATE OR REPLACE FUNCTION s3vectors._sync_changed(mapping s3vectors._sync_mapping) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        -- A metadata function may read any column: any change may change its answer.
        WHEN mapping.metadata_function IS NOT NULL THEN 'pg_catalog.to_jsonb(o.*) IS DISTINCT FROM pg_catalog.to_jsonb(n.*)'
        ELSE pg_catalog.format('(o.%1$I)::real[] IS DISTINCT FROM (n.%1$I)::real[]', mapping.embedding_column)
             || coalesce((SELECT string_agg(pg_catalog.format(
                              ' OR pg_catalog.to_jsonb(o.%1$I) IS DISTINCT FROM pg_catalog.to_jsonb(n.%1$I)', c), '')
                          FROM unnest(mapping.metadata_columns) AS c), '')
    END
$$;

-- The statement-level trigger of every mapping (TG_ARGV[0]: the mapping's id). SECURITY DEFINER:
-- whoever changes the table may write the outbox through it, and nobody may write it directly.
-- It runs no code of the table's owner: column values are compared as jsonb.
CREATE OR REPLACE FUNCTION s3vectors._sync_capture() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Keys are the key column's text form; these settings make it the same in every session.
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET timezone = 'UTC'
SET extra_float_digits = 1
SET bytea_output = 'hex'
AS $$
DECLARE
    mapping s3vectors._sync_mapping;
BEGIN
    SELECT * INTO mapping FROM s3vectors._sync_mapping AS m WHERE m.mapping_id = TG_ARGV[0]::integer;
    IF NOT FOUND OR mapping.source <> TG_RELID THEN
        RAISE EXCEPTION 'pgs3v sync: trigger % on % belongs to no sync mapping of this table', TG_NAME, TG_RELID::regclass
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Drop the trigger, or enable sync again with s3vectors.enable_sync.';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE s3vectors._sync_state AS s SET reconcile_needed_since = coalesce(s.reconcile_needed_since, now())
        WHERE s.mapping_id = mapping.mapping_id;
        RETURN NULL;
    END IF;
    -- Delivered at commit, and not at all on rollback: `pgs3v sync --follow` waits for it.
    PERFORM pg_catalog.pg_notify('pgs3v_sync', mapping.mapping_id::text);
    IF TG_OP = 'INSERT' THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO s3vectors._sync_outbox (mapping_id, key) SELECT $1, (n.%I)::text FROM s3v_new AS n',
            mapping.key_column) USING mapping.mapping_id;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO s3vectors._sync_outbox (mapping_id, key) SELECT $1, (o.%I)::text FROM s3v_old AS o',
            mapping.key_column) USING mapping.mapping_id;
    ELSE
        -- Keys compared as text, their form in the index: a key that changed is a delete of the
        -- old key and a put of the new one.
        EXECUTE pg_catalog.format(
            'INSERT INTO s3vectors._sync_outbox (mapping_id, key) '
            'SELECT $1, changed.key FROM ('
            '  SELECT (o.%1$I)::text AS key FROM s3v_old AS o '
            '  WHERE NOT EXISTS (SELECT FROM s3v_new AS n WHERE (n.%1$I)::text = (o.%1$I)::text) '
            '  UNION ALL '
            '  SELECT (n.%1$I)::text FROM s3v_new AS n LEFT JOIN s3v_old AS o ON (o.%1$I)::text = (n.%1$I)::text '
            '  WHERE o.%1$I IS NULL OR %2$s'
            ') AS changed',
            mapping.key_column, s3vectors._sync_changed(mapping)) USING mapping.mapping_id;
    END IF;
    RETURN NULL;
END
$$;

-- (pgs3v_admin, the table's owner) Stop syncing the table (to one index, or to all); removes its
-- triggers, outbox rows and state. Returns the number of mappings removed.
CREATE OR REPLACE FUNCTION s3vectors.disable_sync(
    source regclass,
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE  -- not SECURITY DEFINER: dropping the triggers takes the table's owner
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id integer;
    event text;
    removed integer := 0;
BEGIN
    FOR id IN
        SELECT m.mapping_id FROM s3vectors.sync_mappings AS m
        WHERE m.source = disable_sync.source
          AND (disable_sync.vector_bucket_name IS NULL OR m.vector_bucket_name = disable_sync.vector_bucket_name)
          AND (disable_sync.index_name IS NULL OR m.index_name = disable_sync.index_name)
    LOOP
        FOREACH event IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', 'pgs3v_sync_' || id || '_' || event, source);
        END LOOP;
        PERFORM s3vectors._sync_unregister(id);
        removed := removed + 1;
    END LOOP;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION s3vectors.disable_sync(regclass, text, text)
    IS 'pgs3v sync: stop recording changes of the table (for one index, or all); returns the mappings removed';

CREATE OR REPLACE FUNCTION s3vectors._sync_unregister(mapping integer) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner oid;
BEGIN
    SELECT c.relowner INTO owner
    FROM s3vectors._sync_mapping AS m JOIN pg_catalog.pg_class AS c ON c.oid = m.source
    WHERE m.mapping_id = mapping;
    -- A mapping whose table was dropped has no owner left to ask.
    IF owner IS NOT NULL AND NOT pg_catalog.pg_has_role(session_user, owner, 'MEMBER') THEN
        RAISE EXCEPTION 'pgs3v sync: must be owner of the table of mapping %', mapping
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM s3vectors._sync_mapping AS m WHERE m.mapping_id = mapping;
END
$$;

-- Claim the oldest changes of a mapping, up to max_rows outbox rows, for this transaction: the
-- rows are locked (FOR UPDATE SKIP LOCKED, so concurrent drains take other rows). A key is
-- returned only when every outbox row it has is locked here: while another drain holds one of
-- them, it may still be putting an older state of that row, and a newer put must not overtake it.
CREATE OR REPLACE FUNCTION s3vectors._sync_claim(mapping integer, max_rows integer)
RETURNS TABLE (key text, change_ids bigint[])
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    WITH oldest AS (
        SELECT o.key FROM s3vectors._sync_outbox AS o
        WHERE o.mapping_id = $1
        ORDER BY o.change_id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ), keys AS (
        SELECT DISTINCT oldest.key FROM oldest
    ), locked AS (
        SELECT o.key, o.change_id FROM s3vectors._sync_outbox AS o
        WHERE o.mapping_id = $1 AND o.key IN (SELECT keys.key FROM keys)
        FOR UPDATE SKIP LOCKED
    ), present AS (
        SELECT o.key, count(*) AS changes FROM s3vectors._sync_outbox AS o
        WHERE o.mapping_id = $1 AND o.key IN (SELECT keys.key FROM keys)
        GROUP BY o.key
    )
    SELECT l.key, array_agg(l.change_id ORDER BY l.change_id)
    FROM locked AS l JOIN present AS p ON p.key = l.key
    GROUP BY l.key, p.changes
    HAVING count(*) = p.changes
$$;

-- The key column's type and its btree operator of a strategy (1: <, 3: =, 5: >), taken from its
-- unique index and named by schema (OPERATOR(s.op)), so that lookups and key order use that
-- index whatever the search path.
CREATE OR REPLACE FUNCTION s3vectors._sync_key_operator(mapping s3vectors._sync_mapping, strategy integer,
                                                        OUT key_type text, OUT operator text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod), pg_catalog.format('OPERATOR(%I.%s)', n.nspname, op.oprname)
    INTO key_type, operator
    FROM pg_catalog.pg_attribute AS a
    JOIN pg_catalog.pg_index AS i
      ON i.indrelid = a.attrelid AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum
     AND i.indpred IS NULL AND i.indexprs IS NULL
    JOIN pg_catalog.pg_opclass AS c ON c.oid = i.indclass[0]
    JOIN pg_catalog.pg_amop AS ao
      ON ao.amopfamily = c.opcfamily AND ao.amopstrategy = strategy AND ao.amoplefttype = c.opcintype
     AND ao.amoprighttype = c.opcintype
    JOIN pg_catalog.pg_operator AS op ON op.oid = ao.amopopr
    JOIN pg_catalog.pg_namespace AS n ON n.oid = op.oprnamespace
    WHERE a.attrelid = mapping.source AND a.attname = mapping.key_column
    LIMIT 1;
    IF key_type IS NULL THEN
        RAISE EXCEPTION 'pgs3v sync: the key column % of % has no unique index any more', mapping.key_column,
            mapping.source USING ERRCODE = 'invalid_table_definition';
    END IF;
END
$$;

-- The current rows of these keys, as the index should hold them: (key, embedding, metadata) for
-- rows that exist; keys without a row are absent. Not SECURITY DEFINER: it reads the table, and
-- runs its metadata function, with the caller's privileges.
CREATE OR REPLACE FUNCTION s3vectors._sync_rows(mapping integer, keys text[])
RETURNS TABLE (key text, data real[], metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET timezone = 'UTC'
SET extra_float_digits = 1
SET bytea_output = 'hex'
AS $$
DECLARE
    m s3vectors._sync_mapping;
    key_type text;
    key_equals text;
    columns_json text;
    function_json text := 'NULL::jsonb';
    statement text;
    one text;
    valid text[] := '{}';
BEGIN
    SELECT * INTO m FROM s3vectors._sync_mapping AS s WHERE s.mapping_id = mapping;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pgs3v sync: no mapping %', mapping USING ERRCODE = 'undefined_object';
    END IF;
    -- Keys are looked up with the key type's own equality, so its unique index serves the lookup.
    SELECT o.key_type, o.operator INTO key_type, key_equals FROM s3vectors._sync_key_operator(m, 3) AS o;
    SELECT CASE WHEN cardinality(m.metadata_columns) = 0 THEN 'NULL::jsonb'
                ELSE 'pg_catalog.jsonb_build_object(' || string_agg(pg_catalog.format('%L, t.%I', c, c), ', ') || ')'
           END
    INTO columns_json
    FROM unnest(m.metadata_columns) AS c;
    IF m.metadata_function IS NOT NULL THEN
        SELECT pg_catalog.format('%I.%I(t)', n.nspname, p.proname) INTO function_json
        FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
        WHERE p.oid = m.metadata_function;
    END IF;
    statement := pg_catalog.format(
        'SELECT (t.%1$I)::text, (t.%2$I)::real[], '
        '       nullif(pg_catalog.jsonb_strip_nulls(coalesce(%3$s, ''{}'') || coalesce(%4$s, ''{}'')), ''{}'') '
        'FROM %5$s AS t WHERE t.%1$I %6$s ANY ($1::%7$s[])',
        m.key_column, m.embedding_column, columns_json, function_json, m.source, key_equals, key_type);
    BEGIN
        RETURN QUERY EXECUTE statement USING keys;
    EXCEPTION WHEN data_exception THEN
        -- A key that is no value of the key type (put into the index by something else, found by
        -- a reconcile) has no row. The cast fails before any row is returned; keep the others.
        FOREACH one IN ARRAY keys LOOP
            BEGIN
                EXECUTE pg_catalog.format('SELECT $1::%s', key_type) USING one;
                valid := valid || one;
            EXCEPTION WHEN data_exception THEN
                NULL;
            END;
        END LOOP;
        RETURN QUERY EXECUTE statement USING valid;
    END;
END
$$;

-- Record a drained batch: its outbox rows go, its counts add up.
CREATE OR REPLACE FUNCTION s3vectors._sync_done(
    mapping integer, change_ids bigint[], put integer, deleted integer, without_embedding integer,
    skipped integer, last_skip text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    DELETE FROM s3vectors._sync_outbox AS o WHERE o.mapping_id = $1 AND o.change_id = ANY ($2);
    UPDATE s3vectors._sync_state AS s
    SET last_success = now(), vectors_put = s.vectors_put + $3, vectors_deleted = s.vectors_deleted + $4,
        rows_without_embedding = s.rows_without_embedding + $5, rows_skipped = s.rows_skipped + $6,
        last_skip = coalesce($7, s.last_skip)
    WHERE s.mapping_id = $1;
$$;

-- Record why a drain failed (its batch stays in the outbox, for the next drain).
CREATE OR REPLACE FUNCTION s3vectors._sync_failed(mapping integer, message text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE s3vectors._sync_state AS s SET last_error = $2, last_error_at = now() WHERE s.mapping_id = $1;
$$;

-- Why the index cannot take this embedding (NULL: it can).
CREATE OR REPLACE FUNCTION s3vectors._sync_unfit(data real[], dimension integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN array_ndims($1) IS DISTINCT FROM 1 OR cardinality($1) <> $2
            THEN pg_catalog.format('dimension %s, the index has %s', coalesce(cardinality($1), 0), $2)
        WHEN array_position($1, NULL) IS NOT NULL THEN 'a NULL element'
        WHEN $1 && '{NaN,Infinity,-Infinity}'::real[] THEN 'a NaN or infinite element'
    END
$$;

-- What a drain does with each claimed key: put (data and metadata given, reason NULL), or delete
-- it from the index (data NULL; reason: 'no row', 'no embedding', or why the index cannot take
-- the embedding). Both drains (sync_run, `pgs3v sync`) decide with this one function.
CREATE OR REPLACE FUNCTION s3vectors._sync_batch(mapping integer, keys text[])
RETURNS TABLE (key text, data real[], metadata jsonb, reason text)
LANGUAGE sql STABLE  -- not SECURITY DEFINER: _sync_rows reads the table as the caller
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT checked.key,
           CASE WHEN checked.reason IS NULL THEN checked.data END,
           CASE WHEN checked.reason IS NULL THEN checked.metadata END,
           checked.reason
    FROM (SELECT k.key, r.data, r.metadata,
                 CASE WHEN r.key IS NULL THEN 'no row'
                      WHEN r.data IS NULL THEN 'no embedding'
                      ELSE s3vectors._sync_unfit(r.data, m.dimension) END AS reason
          FROM s3vectors._sync_mapping AS m
          CROSS JOIN unnest($2) AS k(key)
          LEFT JOIN s3vectors._sync_rows($1, $2) AS r ON r.key = k.key
          WHERE m.mapping_id = $1) AS checked
$$;

-- The next max_rows keys of the mapping's table after the key `after` (NULL: from the first), in
-- the key column's order: how backfill walks a table, resumably, with its unique index.
CREATE OR REPLACE FUNCTION s3vectors._sync_keys_after(mapping integer, after text, max_rows integer)
RETURNS SETOF text
LANGUAGE plpgsql STABLE  -- not SECURITY DEFINER: reads the table as the caller
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET timezone = 'UTC'
SET extra_float_digits = 1
SET bytea_output = 'hex'
AS $$
DECLARE
    m s3vectors._sync_mapping;
    key_type text;
    less text;
    greater text;
BEGIN
    SELECT * INTO m FROM s3vectors._sync_mapping AS s WHERE s.mapping_id = mapping;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'pgs3v sync: no mapping %', mapping USING ERRCODE = 'undefined_object';
    END IF;
    SELECT o.key_type, o.operator INTO key_type, less FROM s3vectors._sync_key_operator(m, 1) AS o;
    SELECT o.operator INTO greater FROM s3vectors._sync_key_operator(m, 5) AS o;
    RETURN QUERY EXECUTE pg_catalog.format(
        'SELECT (t.%1$I)::text FROM %2$s AS t WHERE $1 IS NULL OR t.%1$I %3$s $1::%4$s '
        'ORDER BY t.%1$I USING %5$s LIMIT $2',
        m.key_column, m.source, greater, key_type, less)
    USING after, max_rows;
END
$$;

-- Queue keys for the drains (backfill and reconcile queue what the index lacks or has wrong);
-- backfill_after records how far a backfill got, in the same transaction.
CREATE OR REPLACE FUNCTION s3vectors._sync_enqueue(mapping integer, keys text[], backfill_after text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    queued integer;
BEGIN
    INSERT INTO s3vectors._sync_outbox (mapping_id, key) SELECT mapping, k FROM unnest(keys) AS k WHERE k IS NOT NULL;
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF backfill_after IS NOT NULL THEN
        UPDATE s3vectors._sync_state AS s SET backfill_after = _sync_enqueue.backfill_after WHERE s.mapping_id = mapping;
    END IF;
    PERFORM pg_catalog.pg_notify('pgs3v_sync', mapping::text);
    RETURN queued;
END
$$;

-- Backfill and reconcile bookkeeping: 'backfill started' (from the first key again), 'backfill
-- finished', 'reconciled' (as of `since`: a TRUNCATE after that still asks for another).
CREATE OR REPLACE FUNCTION s3vectors._sync_mark(mapping integer, event text, since timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF event = 'backfill started' THEN
        UPDATE s3vectors._sync_state AS s
        SET backfill_after = NULL, backfill_started_at = now(), backfill_finished_at = NULL
        WHERE s.mapping_id = mapping;
    ELSIF event = 'backfill finished' THEN
        UPDATE s3vectors._sync_state AS s SET backfill_finished_at = now() WHERE s.mapping_id = mapping;
    ELSIF event = 'reconciled' THEN
        UPDATE s3vectors._sync_state AS s
        SET last_reconcile_at = now(),
            reconcile_needed_since = CASE WHEN s.reconcile_needed_since <= since THEN NULL
                                          ELSE s.reconcile_needed_since END
        WHERE s.mapping_id = mapping;
    ELSE
        RAISE EXCEPTION 'pgs3v sync: unknown event %', event USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- (pgs3v_writer, with SELECT on the synced tables) Drain the outbox through the bridge: up to
-- max_rows outbox rows, of one mapping or of all, in batches of at most 500 keys; returns the
-- number of outbox rows drained. On Aurora, a pg_cron job calls it (docs/sync.md). A batch that
-- fails stays in the outbox and its error is recorded in sync_status; the next mapping goes on.
CREATE OR REPLACE FUNCTION s3vectors.sync_run(max_rows integer DEFAULT 10000, mapping integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE  -- not SECURITY DEFINER: the tables are read with the caller's privileges
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m s3vectors._sync_mapping;
    drained bigint := 0;
    batch integer;
    claimed record;
    ids bigint[];
    keys text[];
    put_keys text[];
    put_data real[];
    put_metadata jsonb[];
    delete_keys text[];
    without_embedding integer;
    skipped integer;
    last_skip text;
    message text;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'pgs3v sync: max_rows must be at least 1, got %', coalesce(max_rows::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR m IN SELECT s.* FROM s3vectors._sync_mapping AS s
             WHERE (sync_run.mapping IS NULL OR s.mapping_id = sync_run.mapping)
               AND EXISTS (SELECT FROM pg_catalog.pg_class AS c WHERE c.oid = s.source)
             ORDER BY s.mapping_id LOOP
        LOOP
            batch := least(500, max_rows - drained);
            EXIT WHEN batch <= 0;
            BEGIN
                SELECT array_agg(c.key), array_agg(u.id) INTO keys, ids
                FROM s3vectors._sync_claim(m.mapping_id, batch) AS c, unnest(c.change_ids) AS u(id);
                EXIT WHEN keys IS NULL;
                SELECT array_agg(DISTINCT k) INTO keys FROM unnest(keys) AS k;
                SELECT array_agg(b.key) FILTER (WHERE b.reason IS NULL),
                       array_agg(b.data) FILTER (WHERE b.reason IS NULL),
                       array_agg(b.metadata) FILTER (WHERE b.reason IS NULL),
                       count(*) FILTER (WHERE b.reason = 'no embedding'),
                       count(*) FILTER (WHERE b.reason NOT IN ('no row', 'no embedding')),
                       max(pg_catalog.format('key %s: %s', b.key, b.reason))
                           FILTER (WHERE b.reason NOT IN ('no row', 'no embedding')),
                       array_agg(b.key) FILTER (WHERE b.reason IS NOT NULL)
                INTO put_keys, put_data, put_metadata, without_embedding, skipped, last_skip, delete_keys
                FROM s3vectors._sync_batch(m.mapping_id, keys) AS b;
                IF put_keys IS NOT NULL THEN
                    PERFORM s3vectors.put_vectors(m.vector_bucket_name, m.index_name, put_keys, put_data, put_metadata);
                END IF;
                IF delete_keys IS NOT NULL THEN
                    PERFORM s3vectors.delete_vectors(m.vector_bucket_name, m.index_name, delete_keys);
                END IF;
                PERFORM s3vectors._sync_done(m.mapping_id, ids, coalesce(cardinality(put_keys), 0),
                                             coalesce(cardinality(delete_keys), 0), without_embedding, skipped, last_skip);
                drained := drained + cardinality(ids);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS message = MESSAGE_TEXT;
                PERFORM s3vectors._sync_failed(m.mapping_id, message);
                RAISE WARNING 'pgs3v sync: mapping % (% in bucket %): %', m.mapping_id, m.index_name,
                    m.vector_bucket_name, message;
                EXIT;
            END;
        END LOOP;
    END LOOP;
    RETURN drained;
END
$$;
COMMENT ON FUNCTION s3vectors.sync_run(integer, integer)
    IS 'pgs3v sync: send recorded changes to their indexes (at most max_rows outbox rows); returns the rows drained';

-- (pgs3v_reader) How far behind each synced index is.
CREATE OR REPLACE FUNCTION s3vectors.sync_status()
RETURNS TABLE (
    mapping_id integer, source regclass, vector_bucket_name text, index_name text,
    pending bigint, oldest_pending timestamptz, oldest_pending_age interval,
    last_success timestamptz, last_error text, last_error_at timestamptz,
    vectors_put bigint, vectors_deleted bigint, rows_without_embedding bigint, rows_skipped bigint, last_skip text,
    reconcile_needed_since timestamptz, last_reconcile_at timestamptz,
    backfill_started_at timestamptz, backfill_after text, backfill_finished_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.mapping_id, m.source, m.vector_bucket_name, m.index_name,
           coalesce(o.pending, 0), o.oldest, now() - o.oldest,
           s.last_success, s.last_error, s.last_error_at,
           s.vectors_put, s.vectors_deleted, s.rows_without_embedding, s.rows_skipped, s.last_skip,
           s.reconcile_needed_since, s.last_reconcile_at,
           s.backfill_started_at, s.backfill_after, s.backfill_finished_at
    FROM s3vectors.sync_mappings AS m
    JOIN s3vectors._sync_state AS s ON s.mapping_id = m.mapping_id
    LEFT JOIN LATERAL (SELECT count(*) AS pending, min(x.changed_at) AS oldest
                       FROM s3vectors._sync_outbox AS x WHERE x.mapping_id = m.mapping_id) AS o ON true
    ORDER BY m.mapping_id
$$;
COMMENT ON FUNCTION s3vectors.sync_status()
    IS 'pgs3v sync: per mapping, the changes not yet in the index, the oldest one''s age, the last success and error';

-- (pgs3v_reader) Keys of an index with a change not yet in it (of these keys, or all), with the
-- time of their oldest pending change: join it to query_vectors to flag or drop stale results.
CREATE OR REPLACE FUNCTION s3vectors.sync_pending(
    vector_bucket_name text, index_name text, keys text[] DEFAULT NULL)
RETURNS TABLE (key text, changed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.key, min(o.changed_at)
    FROM s3vectors.sync_mappings AS m
    JOIN s3vectors._sync_outbox AS o ON o.mapping_id = m.mapping_id
    WHERE m.vector_bucket_name = $1 AND m.index_name = $2 AND ($3 IS NULL OR o.key = ANY ($3))
    GROUP BY o.key
$$;
COMMENT ON FUNCTION s3vectors.sync_pending(text, text, text[])
    IS 'pgs3v sync: keys of the index whose table rows changed since the last drain (of keys, or all)';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA s3vectors FROM PUBLIC;
GRANT SELECT ON s3vectors.sync_mappings TO pgs3v_reader;
GRANT EXECUTE ON FUNCTION
    s3vectors.sync_status(),
    s3vectors.sync_pending(text, text, text[])
TO pgs3v_reader;
GRANT SELECT ON s3vectors._sync_mapping TO pgs3v_writer;
GRANT EXECUTE ON FUNCTION
    s3vectors.sync_run(integer, integer),
    s3vectors._sync_claim(integer, integer),
    s3vectors._sync_rows(integer, text[]),
    s3vectors._sync_batch(integer, text[]),
    s3vectors._sync_keys_after(integer, text, integer),
    s3vectors._sync_enqueue(integer, text[], text),
    s3vectors._sync_mark(integer, text, timestamptz),
    s3vectors._sync_key_operator(s3vectors._sync_mapping, integer),
    s3vectors._sync_done(integer, bigint[], integer, integer, integer, integer, text),
    s3vectors._sync_failed(integer, text),
    s3vectors._sync_unfit(real[], integer)
TO pgs3v_writer;
GRANT EXECUTE ON FUNCTION
    s3vectors.enable_sync(regclass, name, name, text, text, name[], regprocedure),
    s3vectors.disable_sync(regclass, text, text),
    s3vectors._sync_register(regclass, name, name, text, text, name[], regprocedure),
    s3vectors._sync_unregister(integer),
    s3vectors._sync_column(regclass, name, text),
    s3vectors._sync_embedding_type(oid),
    -- CREATE TRIGGER needs EXECUTE on the trigger function; firing it does not.
    s3vectors._sync_capture()
TO pgs3v_admin;

RESET ROLE;
COMMIT;
