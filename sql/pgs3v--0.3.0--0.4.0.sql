-- pgs3v 0.3.0 -> 0.4.0: every S3 Vectors operation has its SQL function.
--
-- Until 0.3.0, nine operations of the API could only be sent with another client. Each now has a
-- function named after it, as the others are, for pgs3v_admin only:
--   * bucket policies: put_vector_bucket_policy (a jsonb document), get_vector_bucket_policy (the
--     document, or NULL when the bucket has none), delete_vector_bucket_policy;
--   * tags of a bucket or an index, by ARN: tag_resource, untag_resource, list_tags_for_resource
--     (rows of key and value);
--   * index modes: put_vector_bucket_default_index_mode (of the indexes created later in a bucket)
--     and update_index_mode (of one index);
--   * update_metadata_configuration: add or delete an index's full-text search configurations.
-- They are management operations, so s3vectors.function_name(operation) sends them to
-- function_name, the manage function on AWS, whose role the template allows exactly these actions
-- (src/pgs3v/aws/pgs3v.yaml).
--
-- GetVectorBucket and GetIndex answer with fields newer than 0.1.0, now returned: row type
-- s3vectors.vector_bucket gains default_index_mode, s3vectors.vector_index gains index_mode and
-- text_search_configurations (jsonb: [{"metadataKey", "language", "status"}]). The new columns
-- come last, so column positions of 0.3.0 stay. ListIndexes and ListVectorBuckets answer with no
-- newer fields. 0.3.0's signatures, owners and grants do not change.
--
-- A fresh install runs pgs3v--0.1.0.sql, the upgrades to 0.3.0 and then this file (pgs3v schema
-- install does); running this file again is harmless.

BEGIN;

DO $guard$
DECLARE
    installed text;
BEGIN
    IF pg_catalog.to_regprocedure('s3vectors.schema_version()') IS NULL THEN
        RAISE EXCEPTION 'pgs3v is not installed here; this file upgrades 0.3.0 to 0.4.0'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run sql/pgs3v--0.1.0.sql and the upgrades to 0.3.0 first (pgs3v schema install does).';
    END IF;
    EXECUTE 'SELECT s3vectors.schema_version()' INTO installed;
    IF installed NOT IN ('0.3.0', '0.4.0') THEN
        RAISE EXCEPTION 'pgs3v % is installed here; this file upgrades 0.3.0 to 0.4.0', installed
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$guard$;

-- Created and replaced by their owner, so each replaced function keeps its privileges.
SET LOCAL ROLE pgs3v_owner;

-- ---------------------------------------------------------------------------------------------
-- Version
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.schema_version() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '0.4.0'::text $$;

-- ---------------------------------------------------------------------------------------------
-- Row types: the newer fields of VectorBucket and Index, appended
-- ---------------------------------------------------------------------------------------------

DO $types$
DECLARE
    wanted record;
BEGIN
    -- ALTER TYPE ... ADD ATTRIBUTE has no IF NOT EXISTS: look first, so the file can run again.
    FOR wanted IN
        SELECT * FROM (VALUES ('s3vectors.vector_bucket', 'default_index_mode', 'text'),
                              ('s3vectors.vector_index', 'index_mode', 'text'),
                              ('s3vectors.vector_index', 'text_search_configurations', 'jsonb'))
                      AS w(type_name, attribute, attribute_type)
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                       JOIN pg_catalog.pg_type AS t ON t.typrelid = a.attrelid
                       WHERE t.oid = pg_catalog.to_regtype(wanted.type_name) AND a.attname = wanted.attribute
                         AND NOT a.attisdropped) THEN
            -- Names from the list above, not from a caller.
            EXECUTE pg_catalog.format('ALTER TYPE %s ADD ATTRIBUTE %I %s', wanted.type_name, wanted.attribute,
                                      wanted.attribute_type);
        END IF;
    END LOOP;
END
$types$;

-- ---------------------------------------------------------------------------------------------
-- Internals (owner only)
-- ---------------------------------------------------------------------------------------------

-- How a bucket is addressed: its name, or its ARN.
CREATE OR REPLACE FUNCTION s3vectors._bucket_address(vector_bucket_name text, vector_bucket_arn text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._compact(jsonb_build_object('vectorBucketName', $1, 'vectorBucketArn', $2))
$$;

-- ---------------------------------------------------------------------------------------------
-- Vector buckets (pgs3v_admin)
-- ---------------------------------------------------------------------------------------------

-- 0.1.0's, with the bucket's default index mode.
CREATE OR REPLACE FUNCTION s3vectors.get_vector_bucket(
    vector_bucket_name text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS s3vectors.vector_bucket
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b ->> 'vectorBucketName', b ->> 'vectorBucketArn', s3vectors._timestamp(b -> 'creationTime'),
           (b -> 'encryptionConfiguration')::jsonb, b ->> 'defaultIndexMode'
    FROM (SELECT s3vectors._invoke('GetVectorBucket', s3vectors._bucket_address($1, $2)) -> 'vectorBucket' AS b)
         AS answer
$$;

-- The policy is sent as jsonb's text: the same document, keys in jsonb's order.
CREATE OR REPLACE FUNCTION s3vectors.put_vector_bucket_policy(
    vector_bucket_name text DEFAULT NULL,
    policy jsonb DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('PutVectorBucketPolicy',
        s3vectors._bucket_address($1, $3) || s3vectors._compact(jsonb_build_object('policy', $2::text)))
$$;
COMMENT ON FUNCTION s3vectors.put_vector_bucket_policy(text, jsonb, text)
    IS 'PutVectorBucketPolicy: set the bucket''s resource policy (a JSON document), replacing any other';

-- The service answers a bucket without a policy with NotFoundException, as it answers a missing
-- bucket; GetVectorBucket tells the two apart, so only a missing bucket is an error.
CREATE OR REPLACE FUNCTION s3vectors.get_vector_bucket_policy(
    vector_bucket_name text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    address jsonb := s3vectors._bucket_address(vector_bucket_name, vector_bucket_arn);
    answer json;
BEGIN
    BEGIN
        answer := s3vectors._invoke('GetVectorBucketPolicy', address);
    EXCEPTION WHEN undefined_object THEN
        PERFORM s3vectors._invoke('GetVectorBucket', address);  -- raises NotFoundException for no bucket
        RETURN NULL;
    END;
    RETURN (answer ->> 'policy')::jsonb;
END
$$;
COMMENT ON FUNCTION s3vectors.get_vector_bucket_policy(text, text)
    IS 'GetVectorBucketPolicy: the bucket''s resource policy as jsonb, NULL when it has none';

CREATE OR REPLACE FUNCTION s3vectors.delete_vector_bucket_policy(
    vector_bucket_name text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('DeleteVectorBucketPolicy', s3vectors._bucket_address($1, $2))
$$;
COMMENT ON FUNCTION s3vectors.delete_vector_bucket_policy(text, text)
    IS 'DeleteVectorBucketPolicy: remove the bucket''s resource policy';

CREATE OR REPLACE FUNCTION s3vectors.put_vector_bucket_default_index_mode(
    vector_bucket_name text DEFAULT NULL,
    default_index_mode text DEFAULT NULL,
    vector_bucket_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('PutVectorBucketDefaultIndexMode',
        s3vectors._bucket_address($1, $3) || s3vectors._compact(jsonb_build_object('defaultIndexMode', $2)))
$$;
COMMENT ON FUNCTION s3vectors.put_vector_bucket_default_index_mode(text, text, text)
    IS 'PutVectorBucketDefaultIndexMode: the mode (CLASSIC or ENHANCED) of indexes created in the bucket from now on';

-- ---------------------------------------------------------------------------------------------
-- Indexes (pgs3v_admin)
-- ---------------------------------------------------------------------------------------------

-- 0.1.0's, with the index's mode and full-text search configurations.
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
           (i -> 'encryptionConfiguration')::jsonb, i ->> 'indexMode',
           coalesce((i #> '{metadataConfiguration,textSearchConfigurations}')::jsonb, '[]'::jsonb)
    FROM (SELECT s3vectors._invoke('GetIndex', s3vectors._index_address($1, $2, $3)) -> 'index' AS i) AS answer
$$;

CREATE OR REPLACE FUNCTION s3vectors.update_index_mode(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    index_mode text DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('UpdateIndexMode',
        s3vectors._index_address($1, $2, $4) || s3vectors._compact(jsonb_build_object('indexMode', $3)))
$$;
COMMENT ON FUNCTION s3vectors.update_index_mode(text, text, text, text)
    IS 'UpdateIndexMode: set the index''s mode (CLASSIC or ENHANCED)';

-- add and delete are the API's MetadataConfigurationAdd and MetadataConfigurationDelete, sent as
-- they are (Amazon S3 Vectors takes one of the two per call, on an index in ENHANCED mode):
--     add => '{"textSearchConfigurations": [{"metadataKey": "title", "language": "en"}]}'
--     delete => '{"textSearchConfigurations": [{"metadataKey": "title"}]}'
CREATE OR REPLACE FUNCTION s3vectors.update_metadata_configuration(
    vector_bucket_name text DEFAULT NULL,
    index_name text DEFAULT NULL,
    add jsonb DEFAULT NULL,
    delete jsonb DEFAULT NULL,
    index_arn text DEFAULT NULL)
RETURNS text
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s3vectors._invoke('UpdateMetadataConfiguration',
        s3vectors._index_address($1, $2, $5) || s3vectors._compact(jsonb_build_object('add', $3, 'delete', $4)))
        ->> 'indexArn'
$$;
COMMENT ON FUNCTION s3vectors.update_metadata_configuration(text, text, jsonb, jsonb, text)
    IS 'UpdateMetadataConfiguration: add or delete full-text search configurations of an index; returns its ARN';

-- ---------------------------------------------------------------------------------------------
-- Tags of a vector bucket or an index, named by ARN (pgs3v_admin)
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION s3vectors.tag_resource(
    resource_arn text DEFAULT NULL,
    tags jsonb DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('TagResource',
        s3vectors._compact(jsonb_build_object('resourceArn', $1, 'tags', $2)))
$$;
COMMENT ON FUNCTION s3vectors.tag_resource(text, jsonb)
    IS 'TagResource: add tags ({"key": "value"}) to a bucket or index, replacing the values of keys it has';

CREATE OR REPLACE FUNCTION s3vectors.untag_resource(
    resource_arn text DEFAULT NULL,
    tag_keys text[] DEFAULT NULL)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT FROM s3vectors._invoke('UntagResource',
        s3vectors._compact(jsonb_build_object('resourceArn', $1, 'tagKeys', to_jsonb($2))))
$$;
COMMENT ON FUNCTION s3vectors.untag_resource(text, text[])
    IS 'UntagResource: remove these tag keys from a bucket or index (absent keys are ignored)';

CREATE OR REPLACE FUNCTION s3vectors.list_tags_for_resource(
    resource_arn text DEFAULT NULL)
RETURNS TABLE (key text, value text)
LANGUAGE sql VOLATILE SECURITY DEFINER ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.key, t.value
    FROM json_each_text(s3vectors._invoke('ListTagsForResource',
                                          s3vectors._compact(jsonb_build_object('resourceArn', $1))) -> 'tags') AS t
    ORDER BY t.key
$$;
COMMENT ON FUNCTION s3vectors.list_tags_for_resource(text)
    IS 'ListTagsForResource: the tags of a bucket or index as rows (key, value), by key';

-- ---------------------------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA s3vectors FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    s3vectors.put_vector_bucket_policy(text, jsonb, text),
    s3vectors.get_vector_bucket_policy(text, text),
    s3vectors.delete_vector_bucket_policy(text, text),
    s3vectors.put_vector_bucket_default_index_mode(text, text, text),
    s3vectors.update_index_mode(text, text, text, text),
    s3vectors.update_metadata_configuration(text, text, jsonb, jsonb, text),
    s3vectors.tag_resource(text, jsonb),
    s3vectors.untag_resource(text, text[]),
    s3vectors.list_tags_for_resource(text)
TO pgs3v_admin;

RESET ROLE;
COMMIT;
