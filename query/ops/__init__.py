"""Operations: the query log and its migrations, the gap report."""
