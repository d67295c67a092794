/**
 * An example Spring Boot application that counts page views through the StatBuffer starter: each
 * {@code POST /pages/{page}/views} is one increment of the {@code page-views} buffer, and the
 * starter's JDBC sink adds the buffered counts to the {@code page_views} table in PostgreSQL once
 * a second, and on shutdown.
 */
package dev.statbuffer.example.pageviews;
