"""What the engine reads, loaded in a fixed number of queries per batch.

``rows`` fetches plain rows (tuples on PostgreSQL, ids as text, no model
instances); ``facts`` turns them into the engine's facts for episodes and
programmes. The sweep, the re-evaluation services and the patient chart all
read through here.
"""
