-- Which incarnation of the access log a total counts. The cached copy of the total in
-- Redis is keyed by it, so a total cached from another database, or from this one
-- before its log was emptied or its total rebuilt, is never read as this one's.
ALTER TABLE access_totals ADD COLUMN epoch uuid NOT NULL DEFAULT gen_random_uuid();

-- A total that goes down (an operator resetting it, a rebuild from the log) starts
-- a new epoch: whatever was cached under the old one is now ahead of it. (The test
-- is in the function, not in a WHEN clause, so that the column's type can still be
-- altered.)
CREATE FUNCTION access_totals_new_epoch() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.total < OLD.total THEN
        NEW.epoch := gen_random_uuid();
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER new_epoch_when_the_total_goes_down
    BEFORE UPDATE ON access_totals
    FOR EACH ROW
    EXECUTE FUNCTION access_totals_new_epoch();

-- Emptying the log empties its total (and so starts a new epoch).
CREATE FUNCTION access_log_emptied() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE access_totals SET total = 0 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER zero_the_total_when_the_log_is_truncated
    AFTER TRUNCATE ON access_log
    FOR EACH STATEMENT
    EXECUTE FUNCTION access_log_emptied();
