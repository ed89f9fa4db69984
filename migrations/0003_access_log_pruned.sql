-- Rows leave the log, their views stay counted. The access total is every view
-- ever logged: the rows in access_log plus the rows pruned from it, which
-- `pruned` counts. Pruning never changes the total.
ALTER TABLE access_totals ADD COLUMN pruned bigint NOT NULL DEFAULT 0 CHECK (pruned >= 0);

-- Whatever deletes rows from the log (`tally prune`, or an operator's own
-- DELETE) moves their count into `pruned` in the same transaction.
CREATE FUNCTION access_log_pruned() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    deleted bigint := (SELECT count(*) FROM gone);
BEGIN
    IF deleted > 0 THEN
        UPDATE access_totals SET pruned = pruned + deleted WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER count_deleted_rows_as_pruned
    AFTER DELETE ON access_log
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT
    EXECUTE FUNCTION access_log_pruned();

-- Emptying the log with TRUNCATE still starts the count again from nothing.
CREATE OR REPLACE FUNCTION access_log_emptied() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE access_totals SET total = 0, pruned = 0 WHERE id = 1;
    RETURN NULL;
END
$$;
