-- Every stored state machine's column refuses the changes its transition table does not
-- list (lading_core::sql::transitions makes these from the tables; a test compares them).
-- A table that changes needs a new migration: DROP TRIGGER IF EXISTS, then the new one.

CREATE TRIGGER carts_status_transitions BEFORE UPDATE OF status ON carts
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('active>checked_out', 'active>abandoned', 'active>merged', 'checked_out>active')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: carts.status');
END;

CREATE TRIGGER orders_status_transitions BEFORE UPDATE OF status ON orders
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('pending>paid', 'paid>processing', 'processing>partially_shipped', 'processing>shipped', 'partially_shipped>shipped', 'shipped>delivered', 'pending>cancelled', 'paid>cancel_requested', 'processing>cancel_requested', 'partially_shipped>cancel_requested', 'cancel_requested>cancelled', 'cancel_requested>paid', 'cancel_requested>processing')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: orders.status');
END;

CREATE TRIGGER orders_financial_status_transitions BEFORE UPDATE OF financial_status ON orders
WHEN NEW.financial_status IS NOT OLD.financial_status AND (OLD.financial_status || '>' || NEW.financial_status) NOT IN ('unpaid>paid', 'paid>partially_refunded', 'paid>refunded', 'partially_refunded>refunded')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: orders.financial_status');
END;

CREATE TRIGGER fulfillment_orders_status_transitions BEFORE UPDATE OF status ON fulfillment_orders
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('pending>submitting', 'submitting>pending', 'submitting>submitted', 'submitting>failed', 'submitted>in_production', 'submitted>partially_shipped', 'submitted>shipped', 'in_production>partially_shipped', 'in_production>shipped', 'partially_shipped>shipped', 'shipped>delivered', 'submitted>failed', 'in_production>failed', 'failed>pending', 'submitted>on_hold', 'in_production>on_hold', 'on_hold>submitted', 'on_hold>in_production', 'pending>cancelled', 'failed>cancelled', 'submitted>cancel_requested', 'in_production>cancel_requested', 'on_hold>cancel_requested', 'cancel_requested>cancelled', 'cancel_requested>cancel_rejected', 'cancel_rejected>in_production', 'cancel_rejected>partially_shipped', 'cancel_rejected>shipped')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: fulfillment_orders.status');
END;

CREATE TRIGGER shipments_status_transitions BEFORE UPDATE OF status ON shipments
WHEN NEW.status IS NOT OLD.status AND (OLD.status || '>' || NEW.status) NOT IN ('draft>ready', 'draft>in_transit', 'ready>in_transit', 'in_transit>delivered', 'draft>cancelled', 'ready>cancelled')
BEGIN
    SELECT RAISE(ABORT, 'state transition refused: shipments.status');
END;
