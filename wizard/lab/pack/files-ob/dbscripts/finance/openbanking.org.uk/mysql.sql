-- --------------------------------------------------------------------------
-- Fake WSO2 Open Banking 1.4 (UK) pack: Open Banking tables for MySQL.
-- Written by carbon-wizard for its lab; licensed under the Apache License, Version 2.0.
-- --------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OB_CONSENT (
             CONSENT_ID VARCHAR(255) NOT NULL,
             CLIENT_ID VARCHAR(255) NOT NULL,
             RECEIPT TEXT NOT NULL,
             CONSENT_TYPE VARCHAR(64) NOT NULL,
             CURRENT_STATUS VARCHAR(64) NOT NULL,
             CREATED_TIME BIGINT NOT NULL,
             UPDATED_TIME BIGINT NOT NULL,
             PRIMARY KEY (CONSENT_ID)
)ENGINE INNODB;

CREATE TABLE IF NOT EXISTS OB_CONSENT_AUTH_RESOURCE (
             AUTH_ID VARCHAR(255) NOT NULL,
             CONSENT_ID VARCHAR(255) NOT NULL,
             AUTH_TYPE VARCHAR(255) NOT NULL,
             USER_ID VARCHAR(255),
             AUTH_STATUS VARCHAR(255) NOT NULL,
             UPDATED_TIME BIGINT NOT NULL,
             PRIMARY KEY (AUTH_ID),
             CONSTRAINT FK_OB_CONSENT_AUTH FOREIGN KEY (CONSENT_ID) REFERENCES OB_CONSENT (CONSENT_ID)
)ENGINE INNODB;

CREATE INDEX IDX_OB_AUTH_USER ON OB_CONSENT_AUTH_RESOURCE (USER_ID);

CREATE TABLE IF NOT EXISTS OB_CONSENT_STATUS_AUDIT (
             STATUS_AUDIT_ID INTEGER NOT NULL AUTO_INCREMENT,
             CONSENT_ID VARCHAR(255) NOT NULL,
             CURRENT_STATUS VARCHAR(64) NOT NULL,
             ACTION_TIME BIGINT NOT NULL,
             REASON VARCHAR(255),
             PRIMARY KEY (STATUS_AUDIT_ID)
)ENGINE INNODB;
